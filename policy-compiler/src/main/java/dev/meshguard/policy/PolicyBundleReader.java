package dev.meshguard.policy;

import static dev.meshguard.policy.PolicyBundle.MANIFEST;
import static dev.meshguard.policy.PolicyBundle.POLICIES_DIR;
import static dev.meshguard.policy.PolicyBundleFiles.error;
import static dev.meshguard.policy.PolicyBundleFiles.fileError;
import static dev.meshguard.policy.PolicyBundleFiles.readBytes;
import static dev.meshguard.policy.PolicyBundleFiles.sha256Hex;
import static dev.meshguard.policy.PolicyBundleFiles.slashes;
import static dev.meshguard.policy.PolicyBundleKeys.requireP256;
import static dev.meshguard.policy.PolicyBundleManifests.parseManifest;
import static dev.meshguard.policy.PolicyBundleSignature.checkSignature;

import dev.meshguard.core.config.ConfigError;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.policy.PolicyBundle.FileEntry;
import dev.meshguard.policy.PolicyBundle.Manifest;
import dev.meshguard.policy.PolicyBundle.Verified;
import dev.meshguard.policy.model.AuthorizationPolicy;
import dev.meshguard.policy.model.RequestAuthentication;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Loads and checks a bundle ({@link PolicyBundle#verify}): signature, every file's digest, no
 * missing or unlisted file, each file holding the policy the manifest names, and the revision;
 * every failure is reported at once.
 */
final class PolicyBundleReader {

  private PolicyBundleReader() {}

  /** A manifest larger than this is refused before it is parsed (it lists files, not policies). */
  static final int MAX_MANIFEST_BYTES = 16 << 20;

  static Verified verify(Path dir, PublicKey trusted, Crypto crypto) throws ConfigException {
    Objects.requireNonNull(dir, "dir");
    if (trusted != null) {
      requireP256(trusted);
    }
    Path manifestFile = dir.resolve(MANIFEST);
    if (!Files.isDirectory(dir)) {
      throw error(dir, Files.exists(dir) ? "not a directory; a policy bundle is a directory" : "no such directory");
    }
    byte[] manifestBytes = readBytes(manifestFile, MAX_MANIFEST_BYTES);
    List<ConfigError> errors = new ArrayList<>();
    boolean signed = false;
    if (trusted != null) {
      signed = checkSignature(dir, manifestBytes, trusted, crypto, errors);
    }
    Manifest manifest;
    try {
      manifest = parseManifest(manifestFile, manifestBytes);
    } catch (ConfigException e) {
      errors.addAll(e.errors());
      throw new ConfigException(errors);
    }

    List<AuthorizationPolicy> policies = new ArrayList<>();
    List<RequestAuthentication> authentications = new ArrayList<>();
    List<ConfigError> warnings = new ArrayList<>();
    Set<String> listed = new LinkedHashSet<>();
    for (FileEntry entry : manifest.files()) {
      Path file = dir.resolve(entry.path());
      if (!listed.add(entry.path())) {
        errors.add(fileError(manifestFile, "lists " + entry.path() + " twice"));
        continue;
      }
      byte[] bytes;
      try {
        bytes = readBytes(file, PolicyLoader.MAX_FILE_BYTES);
      } catch (ConfigException e) {
        errors.add(fileError(file, "is listed in the manifest but cannot be read: "
            + e.errors().get(0).message()));
        continue;
      }
      String actual = sha256Hex(bytes);
      if (!actual.equals(entry.sha256())) {
        errors.add(fileError(file, "SHA-256 digest differs from the manifest (manifest " + entry.sha256()
            + ", file " + actual + "): the file was changed after the bundle was made"));
        continue;
      }
      PolicySet one;
      try {
        one = PolicyLoader.parse(file.toString(), new String(bytes, StandardCharsets.UTF_8));
      } catch (ConfigException e) {
        errors.addAll(e.errors());
        continue;
      }
      if (!holdsExactly(one, entry)) {
        errors.add(fileError(file, "the manifest says it holds " + entry.kind() + " " + entry.policy()
            + ", but it holds " + describe(one)));
        continue;
      }
      policies.addAll(one.authorizationPolicies());
      authentications.addAll(one.requestAuthentications());
      warnings.addAll(one.warnings());
    }
    unlistedFiles(dir, listed, errors);
    if (errors.isEmpty()) {
      policies.sort(Comparator.comparing(AuthorizationPolicy::namespace).thenComparing(AuthorizationPolicy::name));
      authentications.sort(
          Comparator.comparing(RequestAuthentication::namespace).thenComparing(RequestAuthentication::name));
      checkUnique(manifestFile, policies, authentications, errors);
      String revision = PolicyDigest.revision(policies, authentications);
      if (errors.isEmpty() && !revision.equals(manifest.revision())) {
        errors.add(fileError(manifestFile, "revision " + manifest.revision() + " is not the digest of the policies"
            + " in the bundle (" + revision + ")"));
      }
      if (errors.isEmpty()) {
        return new Verified(manifest, new PolicySet(policies, authentications, revision, warnings, List.of()), signed);
      }
    }
    throw new ConfigException(errors);
  }

  private static boolean holdsExactly(PolicySet one, FileEntry entry) {
    if (entry.kind().equals("AuthorizationPolicy")) {
      return one.authorizationPolicies().size() == 1 && one.requestAuthentications().isEmpty()
          && one.authorizationPolicies().get(0).ref().equals(entry.policy());
    }
    return one.requestAuthentications().size() == 1 && one.authorizationPolicies().isEmpty()
        && one.requestAuthentications().get(0).ref().equals(entry.policy());
  }

  private static String describe(PolicySet one) {
    List<String> parts = new ArrayList<>();
    one.authorizationPolicies().forEach(p -> parts.add("AuthorizationPolicy " + p.ref()));
    one.requestAuthentications().forEach(r -> parts.add("RequestAuthentication " + r.ref()));
    return parts.isEmpty() ? "no policy" : String.join(", ", parts);
  }

  private static void checkUnique(Path manifest, List<AuthorizationPolicy> policies,
      List<RequestAuthentication> authentications, List<ConfigError> errors) {
    Set<String> seen = new LinkedHashSet<>();
    for (AuthorizationPolicy p : policies) {
      if (!seen.add("AuthorizationPolicy " + p.ref())) {
        errors.add(fileError(manifest, "lists AuthorizationPolicy " + p.ref() + " in two files"));
      }
    }
    for (RequestAuthentication r : authentications) {
      if (!seen.add("RequestAuthentication " + r.ref())) {
        errors.add(fileError(manifest, "lists RequestAuthentication " + r.ref() + " in two files"));
      }
    }
  }

  /** A file the manifest does not name could only have been added after signing. */
  private static void unlistedFiles(Path dir, Set<String> listed, List<ConfigError> errors) {
    Path policies = dir.resolve(POLICIES_DIR);
    if (!Files.isDirectory(policies)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(policies)) {
      for (Path file : walk.filter(p -> !Files.isDirectory(p)).sorted().toList()) {
        String relative = slashes(dir.relativize(file));
        if (!listed.contains(relative)) {
          errors.add(fileError(file, "is not named in the manifest: it was added after the bundle was made"));
        }
      }
    } catch (IOException | UncheckedIOException e) {
      errors.add(fileError(policies, "cannot list the directory: " + e.getMessage()));
    }
  }
}
