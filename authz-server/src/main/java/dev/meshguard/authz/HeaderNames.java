package dev.meshguard.authz;

import java.util.Locale;

/** Checks configured header names: lower-case HTTP tokens, no pseudo-headers, no {@code host}. */
final class HeaderNames {
  private HeaderNames() {}

  /** @throws IllegalArgumentException naming {@code setting} when {@code name} is not a header Envoy may set or remove */
  static void check(String setting, String name) {
    if (name.isEmpty() || !name.equals(name.toLowerCase(Locale.ROOT))) {
      throw new IllegalArgumentException(setting + ": header name \"" + name + "\" must be non-empty and lower-case");
    }
    if (name.startsWith(":") || name.equals("host")) {
      // Envoy refuses to mutate pseudo-headers and Host from an ext_authz response.
      throw new IllegalArgumentException(setting + ": \"" + name + "\" cannot be changed by ext_authz");
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      boolean token = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
      if (!token) {
        throw new IllegalArgumentException(setting + ": header name \"" + name + "\" has an invalid character");
      }
    }
  }
}
