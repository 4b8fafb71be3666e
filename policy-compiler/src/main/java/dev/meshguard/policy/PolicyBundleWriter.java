package dev.meshguard.policy;

import static dev.meshguard.policy.PolicyBundle.FORMAT;
import static dev.meshguard.policy.PolicyBundle.MANIFEST;
import static dev.meshguard.policy.PolicyBundle.POLICIES_DIR;
import static dev.meshguard.policy.PolicyBundle.SIGNATURE;
import static dev.meshguard.policy.PolicyBundleFiles.error;
import static dev.meshguard.policy.PolicyBundleFiles.readBytes;
import static dev.meshguard.policy.PolicyBundleFiles.sha256Hex;
import static dev.meshguard.policy.PolicyBundleFiles.slashes;
import static dev.meshguard.policy.PolicyBundleKeys.requireP256;
import static dev.meshguard.policy.PolicyBundleManifests.json;
import static dev.meshguard.policy.PolicyBundleManifests.manifestNode;
import static dev.meshguard.policy.PolicyBundleSignature.sign;

import dev.meshguard.core.Version;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.time.Clock;
import dev.meshguard.policy.PolicyBundle.FileEntry;
import dev.meshguard.policy.PolicyBundle.Manifest;
import dev.meshguard.policy.PolicyBundle.SourceEntry;
import dev.meshguard.policy.model.AuthorizationPolicy;
import dev.meshguard.policy.model.RequestAuthentication;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.PrivateKey;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Stream;

/**
 * Writes a bundle ({@link PolicyBundle#write}): the policy files and manifest are built in memory,
 * written to a sibling staging directory and moved into place, so a reader never sees half a bundle.
 */
final class PolicyBundleWriter {

  private PolicyBundleWriter() {}

  static Manifest write(PolicySet set, List<Path> sources, Path out, PrivateKey signingKey, Crypto crypto,
      Clock clock) throws ConfigException {
    Objects.requireNonNull(set, "set");
    Objects.requireNonNull(sources, "sources");
    Objects.requireNonNull(out, "out");
    Objects.requireNonNull(crypto, "crypto");
    Objects.requireNonNull(clock, "clock");
    if (signingKey != null) {
      requireP256(signingKey);
    }
    Map<String, byte[]> files = new LinkedHashMap<>();
    List<FileEntry> entries = new ArrayList<>();
    for (AuthorizationPolicy p : set.authorizationPolicies()) {
      String path = POLICIES_DIR + "/" + fileSegment(p.namespace()) + "/AuthorizationPolicy-" + fileSegment(p.name())
          + ".json";
      addFile(files, entries, path, json(PolicyResources.resource(p)), "AuthorizationPolicy", p.ref());
    }
    for (RequestAuthentication r : set.requestAuthentications()) {
      String path = POLICIES_DIR + "/" + fileSegment(r.namespace()) + "/RequestAuthentication-" + fileSegment(r.name())
          + ".json";
      addFile(files, entries, path, json(PolicyResources.resource(r)), "RequestAuthentication", r.ref());
    }
    entries.sort(Comparator.comparing(FileEntry::path));
    List<SourceEntry> sourceEntries = new ArrayList<>();
    for (Path source : PolicyFiles.list(sources)) {
      sourceEntries.add(new SourceEntry(slashes(source), sha256Hex(readBytes(source, PolicyLoader.MAX_FILE_BYTES))));
    }
    Manifest manifest = new Manifest(FORMAT, set.revision(),
        clock.now().truncatedTo(ChronoUnit.SECONDS).toString(), Version.current(), entries, sourceEntries);
    byte[] manifestBytes = json(manifestNode(manifest));
    byte[] signature = signingKey == null ? null : sign(manifestBytes, signingKey, crypto);
    publish(out, files, manifestBytes, signature);
    return manifest;
  }

  private static void addFile(Map<String, byte[]> files, List<FileEntry> entries, String path, byte[] content,
      String kind, String policy) {
    // Names are DNS labels and subdomains in Kubernetes, so the segments never collide; but a
    // set built by hand may hold anything, and a silent overwrite would lose a policy.
    if (files.putIfAbsent(path, content) != null) {
      throw new IllegalArgumentException("two policies map to the bundle file " + path);
    }
    entries.add(new FileEntry(path, sha256Hex(content), kind, policy));
  }

  /**
   * A namespace or name as one path segment: letters, digits, {@code -}, {@code _} and {@code .}
   * as they are (Kubernetes names use nothing else), anything else and a leading dot as
   * {@code %XX} of its UTF-8 bytes, so no name can climb out of its directory or hide as a dot file.
   */
  static String fileSegment(String name) {
    StringBuilder sb = new StringBuilder();
    byte[] bytes = name.getBytes(StandardCharsets.UTF_8);
    for (int i = 0; i < bytes.length; i++) {
      int b = bytes[i] & 0xff;
      boolean plain = (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') || b == '-'
          || b == '_' || (b == '.' && i > 0);
      if (plain) {
        sb.append((char) b);
      } else {
        sb.append('%').append(String.format(Locale.ROOT, "%02X", b));
      }
    }
    return sb.isEmpty() ? "%" : sb.toString();
  }

  private static void publish(Path out, Map<String, byte[]> files, byte[] manifest, byte[] signature)
      throws ConfigException {
    Path target = out.toAbsolutePath().normalize();
    Path parent = target.getParent();
    if (parent == null) {
      throw error(out, "cannot write a bundle at the file system root");
    }
    boolean replace = false;
    if (Files.exists(target)) {
      if (!Files.isDirectory(target)) {
        throw error(out, "exists and is not a directory; refusing to overwrite it");
      }
      replace = Files.exists(target.resolve(MANIFEST));
      if (!replace && !isEmptyDirectory(target)) {
        throw error(out, "is a directory that is not empty and holds no bundle (no " + MANIFEST
            + "); refusing to write into it");
      }
    }
    Path staging = null;
    try {
      Files.createDirectories(parent);
      staging = Files.createTempDirectory(parent, "." + target.getFileName() + ".new-");
      for (Map.Entry<String, byte[]> file : files.entrySet()) {
        Path path = staging.resolve(file.getKey());
        Files.createDirectories(path.getParent());
        Files.write(path, file.getValue());
      }
      Files.write(staging.resolve(MANIFEST), manifest);
      if (signature != null) {
        Files.write(staging.resolve(SIGNATURE), signature);
      }
      // createTempDirectory made it 0700; a bundle is meant to be read by servers.
      Files.setPosixFilePermissions(staging, PosixFilePermissions.fromString("rwxr-xr-x"));
      if (replace) {
        Path old = Files.createTempDirectory(parent, "." + target.getFileName() + ".old-");
        Files.delete(old);
        Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
        Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
        deleteTree(old);
      } else {
        if (Files.exists(target)) {
          Files.delete(target); // empty, checked above
        }
        Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
      }
      staging = null;
    } catch (IOException | UncheckedIOException | UnsupportedOperationException e) {
      throw error(out, "cannot write the bundle: " + e.getMessage());
    } finally {
      if (staging != null) {
        deleteTree(staging);
      }
    }
  }

  private static boolean isEmptyDirectory(Path dir) throws ConfigException {
    try (Stream<Path> entries = Files.list(dir)) {
      return entries.findAny().isEmpty();
    } catch (IOException e) {
      throw error(dir, "cannot list the directory: " + e.getMessage());
    }
  }

  private static void deleteTree(Path root) {
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException | UncheckedIOException e) {
      // Best effort: a leftover staging directory is a dot directory beside the bundle, never read.
    }
  }
}
