package dev.meshguard.ratelimit;

/** What the engine answers when the store fails: allow (Envoy's {@code failure_mode_deny: false}) or deny. */
public enum FailureMode {
  ALLOW,
  DENY
}
