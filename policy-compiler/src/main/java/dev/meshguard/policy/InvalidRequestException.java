package dev.meshguard.policy;

import java.util.Objects;

/**
 * A {@code CheckRequest} that cannot be turned into {@link RequestAttributes}: the message names
 * the part at fault (e.g. {@code attributes.source.address.socket_address.address}) and what is
 * wrong with it. The authz server answers such a request with its failure mode; the CLI exits 2.
 */
public final class InvalidRequestException extends Exception {
  private static final long serialVersionUID = 1L;

  private final String part;

  public InvalidRequestException(String part, String problem) {
    super(Objects.requireNonNull(part, "part") + ": " + Objects.requireNonNull(problem, "problem"));
    this.part = part;
  }

  /** The field path of the part at fault, in the proto's snake_case names. */
  public String part() {
    return part;
  }
}
