package dev.meshguard.policy;

/**
 * Asks a CUSTOM action's external authorizer. Called only when a CUSTOM policy's rule matched,
 * before DENY and ALLOW are evaluated. The server calls the provider (with a timeout and its
 * failure mode); the CLI answers from {@code --provider-decision}.
 */
@FunctionalInterface
public interface CustomDecider {

  /** Every provider allows: what the CLI assumes unless told otherwise. */
  CustomDecider ALLOW_ALL = provider -> true;

  /** True when the named provider allows the request in flight. Must not throw. */
  boolean allows(String provider);
}
