package dev.meshguard.policy;

import dev.meshguard.core.config.ConfigError;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.policy.ResourceReader.Meta;
import dev.meshguard.policy.model.AuthorizationPolicy;
import dev.meshguard.policy.model.RequestAuthentication;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Loads Istio {@code AuthorizationPolicy} and {@code RequestAuthentication} resources
 * ({@code security.istio.io/v1} and {@code v1beta1}) and meshguard's superset
 * {@code meshguard.dev/v1} AuthorizationPolicy (which adds {@code when[].cel}) into a validated
 * {@link PolicySet}.
 *
 * <h2>Input</h2>
 * Files and directories (recursively; {@code *.yaml}, {@code *.yml}, {@code *.json}; names starting
 * with a dot are skipped, so the {@code ..data} links of a mounted ConfigMap are read once). A
 * file named explicitly is read whatever its extension. A file holds one or many YAML documents
 * ({@code ---}), or one JSON object (when its name ends in {@code .json}); a document may be a
 * Kubernetes {@code List} ({@code kind: List}, {@code items:}). Resources of other kinds are
 * skipped with a note ({@link PolicySet#notes()}). {@code metadata.namespace} defaults to
 * {@code default}, as {@code kubectl apply} without {@code -n} does.
 *
 * <h2>Validation</h2>
 * Everything Istio's validation webhook rejects is rejected here, and everything the CRD's schema
 * rejects (unknown fields, a number where a string belongs, list limits): see
 * {@link AuthorizationPolicyReader} and {@link RequestAuthenticationReader}. What the webhook only
 * warns about is in {@link PolicySet#warnings()}. Two resources of one kind with the same
 * namespace and name are an error naming both places.
 *
 * <h2>Errors</h2>
 * Every error of every file is collected and thrown at once in one {@link ConfigException},
 * sorted by file and position, each rendered as {@code file:line:column: field.path: message}
 * (for example {@code policies/deny.yaml:14:13: spec.rules[0].from[1].source.ipBlocks[2]: bad IP
 * address "10.0.0.300": IPv4 field has value >255}). A set with any error is never returned in
 * part. Nothing else is thrown for any input: a file that is not YAML, not UTF-8, too large, or
 * nested too deep is one more error.
 */
public final class PolicyLoader {

  /** Larger files are refused before they are read. */
  public static final long MAX_FILE_BYTES = 32L << 20;

  private static final Comparator<AuthorizationPolicy> AP_ORDER =
      Comparator.comparing(AuthorizationPolicy::namespace).thenComparing(AuthorizationPolicy::name);
  private static final Comparator<RequestAuthentication> RA_ORDER =
      Comparator.comparing(RequestAuthentication::namespace).thenComparing(RequestAuthentication::name);

  private PolicyLoader() {}

  /**
   * Loads every policy file under {@code paths}.
   *
   * @param paths files and directories, named in errors as given
   * @throws ConfigException with every error of every file (a path that does not exist or cannot
   *     be read is one)
   */
  public static PolicySet load(List<Path> paths) throws ConfigException {
    Objects.requireNonNull(paths, "paths");
    Diagnostics diagnostics = new Diagnostics();
    Collector collector = new Collector(diagnostics);
    for (Path file : files(paths, diagnostics)) {
      String text = read(file, diagnostics);
      if (text != null) {
        ResourceReader.read(file.toString(), text, diagnostics, collector);
      }
    }
    return collector.finish();
  }

  /**
   * Parses one file's content.
   *
   * @param sourceName the name errors carry; ending in {@code .json} selects JSON
   * @throws ConfigException with every error found
   */
  public static PolicySet parse(String sourceName, String text) throws ConfigException {
    Objects.requireNonNull(sourceName, "sourceName");
    Objects.requireNonNull(text, "text");
    Diagnostics diagnostics = new Diagnostics();
    Collector collector = new Collector(diagnostics);
    ResourceReader.read(sourceName, stripBom(text), diagnostics, collector);
    return collector.finish();
  }

  /** The files to read ({@link PolicyFiles}), errors for the paths that cannot be listed. */
  private static List<Path> files(List<Path> paths, Diagnostics diagnostics) {
    List<ConfigError> errors = new ArrayList<>();
    List<Path> files = PolicyFiles.list(paths, errors);
    errors.forEach(diagnostics::add);
    return files;
  }

  /** The file as UTF-8 text, or null with an error. */
  private static String read(Path file, Diagnostics diagnostics) {
    String source = file.toString();
    try {
      long size = Files.size(file);
      if (size > MAX_FILE_BYTES) {
        diagnostics.add(new ConfigError(source, 0, 0, "", "the file is " + size + " bytes; policy files may have at most "
            + MAX_FILE_BYTES + " bytes"));
        return null;
      }
      byte[] bytes = Files.readAllBytes(file);
      try {
        String text = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT)
            .decode(ByteBuffer.wrap(bytes))
            .toString();
        return stripBom(text);
      } catch (CharacterCodingException e) {
        diagnostics.add(new ConfigError(source, 0, 0, "", "not valid UTF-8 text"));
        return null;
      }
    } catch (NoSuchFileException e) {
      diagnostics.add(new ConfigError(source, 0, 0, "", "no such file or directory"));
    } catch (AccessDeniedException e) {
      diagnostics.add(new ConfigError(source, 0, 0, "", "permission denied"));
    } catch (IOException e) {
      diagnostics.add(new ConfigError(source, 0, 0, "", "cannot read the file: " + reason(e)));
    }
    return null;
  }

  private static String stripBom(String text) {
    return text.startsWith("\uFEFF") ? text.substring(1) : text;
  }

  private static String reason(Exception e) {
    Throwable cause = e instanceof UncheckedIOException u ? u.getCause() : e;
    return cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
  }

  /** Gathers the policies of every file, refusing a second resource of one kind with the same namespace/name. */
  private static final class Collector implements ResourceReader.Sink {
    private final Diagnostics diagnostics;
    private final List<AuthorizationPolicy> policies = new ArrayList<>();
    private final List<RequestAuthentication> authentications = new ArrayList<>();
    private final Map<String, Meta> seen = new HashMap<>();

    Collector(Diagnostics diagnostics) {
      this.diagnostics = diagnostics;
    }

    @Override
    public void authorizationPolicy(AuthorizationPolicy policy, Meta meta) {
      if (unique(ResourceReader.AUTHORIZATION_POLICY, meta)) {
        policies.add(policy);
      }
    }

    @Override
    public void requestAuthentication(RequestAuthentication authentication, Meta meta) {
      if (unique(ResourceReader.REQUEST_AUTHENTICATION, meta)) {
        authentications.add(authentication);
      }
    }

    private boolean unique(String kind, Meta meta) {
      String key = kind + " " + meta.namespace() + "/" + meta.name();
      Meta first = seen.putIfAbsent(key, meta);
      if (first == null) {
        return true;
      }
      diagnostics.error(meta.mark(), meta.path(), key + " is defined twice: here and at " + first.position());
      return false;
    }

    PolicySet finish() throws ConfigException {
      diagnostics.throwIfErrors();
      policies.sort(AP_ORDER);
      authentications.sort(RA_ORDER);
      return new PolicySet(policies, authentications, PolicyDigest.revision(policies, authentications),
          diagnostics.sortedWarnings(), diagnostics.notes());
    }
  }
}
