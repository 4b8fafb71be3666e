package dev.meshguard.policy.model;

/** {@code spec.action}; absent means {@link #ALLOW}. */
public enum Action {
  ALLOW,
  DENY,
  AUDIT,
  CUSTOM
}
