package dev.meshguard.ca.server;

import java.util.Objects;

/** What checking one service-account token found; the {@link Authenticator} maps it to a gRPC status. */
sealed interface TokenCheck {

  /** A valid token of the service account {@code namespace/serviceAccount}. */
  record Valid(String namespace, String serviceAccount) implements TokenCheck {
    public Valid {
      Objects.requireNonNull(namespace, "namespace");
      Objects.requireNonNull(serviceAccount, "serviceAccount");
    }
  }

  /** The token is not a valid service-account token for us (UNAUTHENTICATED). */
  record Refused(String reason) implements TokenCheck {}

  /** The token could not be checked now, e.g. the Kubernetes API is unreachable (UNAVAILABLE). */
  record Unavailable(String reason) implements TokenCheck {}

  /** Checking failed for a reason on our side, e.g. the reviewer is not allowed to review (INTERNAL). */
  record Failed(String reason) implements TokenCheck {}

  /** The prefix of a service account's Kubernetes user name. */
  String USERNAME_PREFIX = "system:serviceaccount:";

  /**
   * {@code system:serviceaccount:<namespace>:<name>}, the user name Kubernetes gives a service
   * account (and the {@code sub} of its tokens), as {@link Valid}; anything else is refused.
   */
  static TokenCheck fromUsername(String username) {
    if (username == null || !username.startsWith(USERNAME_PREFIX)) {
      return new Refused("the token belongs to " + (username == null ? "no user" : "\"" + username + "\"")
          + ", not to a service account (system:serviceaccount:<namespace>:<name>)");
    }
    String[] parts = username.substring(USERNAME_PREFIX.length()).split(":", -1);
    if (parts.length != 2 || parts[0].isEmpty() || parts[1].isEmpty()) {
      return new Refused("the token's user \"" + username
          + "\" is not of the form system:serviceaccount:<namespace>:<name>");
    }
    return new Valid(parts[0], parts[1]);
  }
}
