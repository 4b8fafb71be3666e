package dev.meshguard.core.admin;

import dev.meshguard.core.config.NotBlank;
import dev.meshguard.core.config.Range;
import java.util.Objects;

/**
 * Where the admin server listens. Localhost by default: {@code /metrics} and {@code /status}
 * reveal configuration revisions and traffic volumes, so exposing them is a deliberate choice.
 *
 * @param host the address to bind, {@value #DEFAULT_HOST} unless configured otherwise
 * @param port the port, {@value #DEFAULT_PORT} by default; 0 picks a free one
 */
public record AdminOptions(@NotBlank String host, @Range(min = "0", max = "65535") int port) {
  public static final String DEFAULT_HOST = "127.0.0.1";
  public static final int DEFAULT_PORT = 9090;
  public static final AdminOptions DEFAULTS = new AdminOptions(DEFAULT_HOST, DEFAULT_PORT);

  public AdminOptions {
    Objects.requireNonNull(host, "host");
    if (host.isBlank()) {
      throw new IllegalArgumentException("host must not be blank");
    }
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port must be between 0 and 65535, found " + port);
    }
  }

  public AdminOptions withPort(int newPort) {
    return new AdminOptions(host, newPort);
  }
}
