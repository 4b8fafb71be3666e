package dev.meshguard.policy;

import dev.meshguard.core.config.ConfigError;
import dev.meshguard.core.config.ConfigException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** File and digest helpers shared by the bundle reader, writer and key files; errors name the file. */
final class PolicyBundleFiles {

  private PolicyBundleFiles() {}

  static String sha256Hex(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every Java platform", e);
    }
  }

  static byte[] readBytes(Path file, long max) throws ConfigException {
    try (InputStream in = Files.newInputStream(file)) {
      byte[] bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, max + 1));
      if (bytes.length > max) {
        throw error(file, "is larger than " + max + " bytes");
      }
      return bytes;
    } catch (NoSuchFileException e) {
      throw error(file, "no such file");
    } catch (AccessDeniedException e) {
      throw error(file, "permission denied");
    } catch (IOException e) {
      throw error(file, "cannot read: " + e.getMessage());
    }
  }

  static String slashes(Path path) {
    return path.toString().replace(path.getFileSystem().getSeparator(), "/");
  }

  static ConfigError fileError(Path file, String message) {
    return new ConfigError(file.toString(), 0, 0, "", message);
  }

  static ConfigException error(Path file, String message) {
    return new ConfigException(fileError(file, message));
  }
}
