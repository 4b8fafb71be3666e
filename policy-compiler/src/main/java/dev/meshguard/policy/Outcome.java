package dev.meshguard.policy;

/** What the request gets. */
public enum Outcome {
  ALLOW,
  DENY
}
