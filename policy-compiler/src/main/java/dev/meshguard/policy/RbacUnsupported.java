package dev.meshguard.policy;

/**
 * A value or key istiod's generator cannot turn into an RBAC matcher ("unimplemented", "HTTP
 * only", a malformed value). What happens next depends on the action, as in istiod's
 * {@code rule.checkError}: an ALLOW rule is dropped whole, a DENY/AUDIT/CUSTOM rule loses only
 * the offending value.
 */
final class RbacUnsupported extends Exception {
  private static final long serialVersionUID = 1L;

  RbacUnsupported(String message) {
    super(message, null, false, false);
  }
}
