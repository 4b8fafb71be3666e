package dev.meshguard.ca;

import dev.meshguard.core.config.ConfigError;
import dev.meshguard.core.config.ConfigException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Set;

/**
 * A CA directory in Istio's plugged-in CA layout (the {@code cacerts} secret mounted at
 * {@code /etc/cacerts}): {@code ca-cert.pem} (the signing certificate), {@code ca-key.pem} (its
 * key), {@code cert-chain.pem} (signing certificate up to the root) and {@code root-cert.pem}.
 */
public final class CaDirectory {
  public static final String CA_CERT = "ca-cert.pem";
  public static final String CA_KEY = "ca-key.pem";
  public static final String CERT_CHAIN = "cert-chain.pem";
  public static final String ROOT_CERT = "root-cert.pem";
  static final List<String> FILES = List.of(CA_CERT, CA_KEY, CERT_CHAIN, ROOT_CERT);

  static final Set<PosixFilePermission> KEY_MODE = PosixFilePermissions.fromString("rw-------");
  static final Set<PosixFilePermission> CERT_MODE = PosixFilePermissions.fromString("rw-r--r--");

  private CaDirectory() {}

  /** Fails when any of the four files exists already: a CA is never overwritten. */
  static void requireEmpty(Path dir) throws ConfigException {
    for (String name : FILES) {
      Path file = dir.resolve(name);
      if (Files.exists(file)) {
        throw error(file, "a CA exists already in " + dir + "; refusing to overwrite it"
            + " (move the directory away to start a new CA)");
      }
    }
  }

  /**
   * Writes the key first, created with mode 0600 (never readable by others, not even for an
   * instant), then the certificates with 0644. Every file is created new.
   */
  static void write(Path dir, byte[] keyPkcs8, String caCert, String certChain, String rootCert) throws ConfigException {
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw error(dir, "cannot create the CA directory: " + e);
    }
    requireEmpty(dir);
    writeNew(dir.resolve(CA_KEY), PemText.block("PRIVATE KEY", keyPkcs8).getBytes(StandardCharsets.US_ASCII), KEY_MODE);
    writeNew(dir.resolve(CA_CERT), caCert.getBytes(StandardCharsets.US_ASCII), CERT_MODE);
    writeNew(dir.resolve(CERT_CHAIN), certChain.getBytes(StandardCharsets.US_ASCII), CERT_MODE);
    writeNew(dir.resolve(ROOT_CERT), rootCert.getBytes(StandardCharsets.US_ASCII), CERT_MODE);
  }

  /**
   * Replaces {@code file} atomically: {@code content} goes to a temporary file beside it, created
   * with {@code mode} (so a key is never readable by others), which is then moved over it. A
   * reader sees the old file or the new one, never a part.
   */
  static void replace(Path file, byte[] content, Set<PosixFilePermission> mode) throws ConfigException {
    Path temp = file.resolveSibling("." + file.getFileName() + ".tmp");
    try {
      Files.deleteIfExists(temp);
      writeNew(temp, content, mode);
      Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw error(file, "cannot replace: " + e);
    }
  }

  static void writeNew(Path file, byte[] content, Set<PosixFilePermission> mode) throws ConfigException {
    FileAttribute<Set<PosixFilePermission>> attribute = PosixFilePermissions.asFileAttribute(mode);
    try {
      Files.createFile(file, attribute);
      // The umask may have narrowed the mode at creation; set it exactly.
      Files.setPosixFilePermissions(file, mode);
      try (OutputStream out = Files.newOutputStream(file, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
        out.write(content);
      }
    } catch (FileAlreadyExistsException e) {
      throw error(file, "exists already; refusing to overwrite it");
    } catch (IOException | UnsupportedOperationException e) {
      throw error(file, "cannot write: " + e);
    } finally {
      java.util.Arrays.fill(content, (byte) 0);
    }
  }

  static ConfigException error(Path file, String message) {
    return new ConfigException(new ConfigError(file.toString(), 0, 0, "", message));
  }
}
