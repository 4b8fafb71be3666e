package dev.meshguard.ca.server;

import io.grpc.Status;
import java.util.Objects;

/**
 * A call the Istio CA API answers without a certificate: the gRPC code and the message the caller
 * gets. {@link Status.Code#INTERNAL} denials carry a generic message; their details go to the log.
 */
record Denial(Status.Code code, String message) {
  Denial {
    Objects.requireNonNull(code, "code");
    Objects.requireNonNull(message, "message");
    if (code == Status.Code.OK) {
      throw new IllegalArgumentException("a denial is not OK");
    }
  }

  /** The metric tag and audit outcome: the code in lower case ({@code permission_denied}). */
  String reason() {
    return code.name().toLowerCase(java.util.Locale.ROOT);
  }

  Status status() {
    return code.toStatus().withDescription(message);
  }
}
