package dev.meshguard.policy;

import static dev.meshguard.policy.PolicyBundle.FORMAT;
import static dev.meshguard.policy.PolicyBundle.POLICIES_DIR;
import static dev.meshguard.policy.PolicyBundle.SIGNATURE_ALGORITHM;
import static dev.meshguard.policy.PolicyBundleFiles.error;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.meshguard.core.config.ConfigError;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.policy.PolicyBundle.FileEntry;
import dev.meshguard.policy.PolicyBundle.Manifest;
import dev.meshguard.policy.PolicyBundle.SourceEntry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The manifest as JSON (snake_case keys, see {@link PolicyBundle}) and back, and the byte-stable
 * JSON writer the policy files use too. Parsing reports every malformed field at once.
 */
final class PolicyBundleManifests {

  private PolicyBundleManifests() {}

  /** One path segment of a file in a bundle: what {@link PolicyBundleWriter#fileSegment} produces, nothing else. */
  private static final Pattern SEGMENT = Pattern.compile("[A-Za-z0-9_%-][A-Za-z0-9._%-]*");
  private static final Pattern SHA256_HEX = Pattern.compile("[0-9a-f]{64}");

  private static final ObjectMapper JSON = JsonMapper.builder()
      .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
      .build();

  static ObjectNode manifestNode(Manifest m) {
    ObjectNode node = JsonNodeFactory.instance.objectNode();
    node.put("format", m.format());
    node.put("revision", m.revision());
    node.put("created_at", m.createdAt());
    node.put("compiler_version", m.compilerVersion());
    node.put("signature_algorithm", SIGNATURE_ALGORITHM);
    ArrayNode files = node.putArray("files");
    for (FileEntry f : m.files()) {
      files.addObject().put("path", f.path()).put("sha256", f.sha256()).put("kind", f.kind()).put("policy", f.policy());
    }
    ArrayNode sources = node.putArray("sources");
    for (SourceEntry s : m.sources()) {
      sources.addObject().put("path", s.path()).put("sha256", s.sha256());
    }
    return node;
  }

  /** Pretty JSON with {@code \n} line ends on every platform, ending in a newline: byte-stable. */
  static byte[] json(JsonNode node) {
    DefaultPrettyPrinter printer = new DefaultPrettyPrinter(
        Separators.createDefaultInstance().withObjectFieldValueSpacing(Separators.Spacing.AFTER))
        .withObjectIndenter(new DefaultIndenter("  ", "\n"))
        .withArrayIndenter(new DefaultIndenter("  ", "\n"));
    try {
      return (JSON.writer(printer).writeValueAsString(node) + "\n").getBytes(StandardCharsets.UTF_8);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a JSON tree always serialises", e);
    }
  }

  static Manifest parseManifest(Path file, byte[] bytes) throws ConfigException {
    JsonNode root;
    try {
      root = JSON.readTree(bytes);
    } catch (JsonProcessingException e) {
      throw error(file, "not valid JSON: " + e.getOriginalMessage());
    } catch (IOException e) {
      throw error(file, "not valid JSON: " + e.getMessage());
    }
    List<ConfigError> errors = new ArrayList<>();
    if (root == null || !root.isObject()) {
      throw error(file, "must be a JSON object");
    }
    String format = text(root, "format", file, errors);
    if (format != null && !format.equals(FORMAT)) {
      errors.add(new ConfigError(file.toString(), 0, 0, "format", "is \"" + format + "\"; this meshguard reads "
          + FORMAT));
      throw new ConfigException(errors);
    }
    String revision = text(root, "revision", file, errors);
    String createdAt = text(root, "created_at", file, errors);
    String version = text(root, "compiler_version", file, errors);
    String algorithm = text(root, "signature_algorithm", file, errors);
    if (algorithm != null && !algorithm.equals(SIGNATURE_ALGORITHM)) {
      errors.add(new ConfigError(file.toString(), 0, 0, "signature_algorithm", "is \"" + algorithm
          + "\"; bundles are signed with " + SIGNATURE_ALGORITHM));
    }
    List<FileEntry> files = new ArrayList<>();
    JsonNode fileNodes = root.get("files");
    if (fileNodes == null || !fileNodes.isArray()) {
      errors.add(new ConfigError(file.toString(), 0, 0, "files", "must be a list"));
    } else {
      for (int i = 0; i < fileNodes.size(); i++) {
        JsonNode f = fileNodes.get(i);
        String at = "files[" + i + "]";
        String path = text(f, "path", file, errors, at);
        String sha = text(f, "sha256", file, errors, at);
        String kind = text(f, "kind", file, errors, at);
        String policy = text(f, "policy", file, errors, at);
        if (path != null && !safePath(path)) {
          errors.add(new ConfigError(file.toString(), 0, 0, at + ".path", "\"" + path + "\" is not a file under "
              + POLICIES_DIR + "/ (no absolute paths, no .. or dot files)"));
          path = null;
        }
        if (sha != null && !SHA256_HEX.matcher(sha).matches()) {
          errors.add(new ConfigError(file.toString(), 0, 0, at + ".sha256", "must be 64 lowercase hex digits"));
          sha = null;
        }
        if (kind != null && !kind.equals("AuthorizationPolicy") && !kind.equals("RequestAuthentication")) {
          errors.add(new ConfigError(file.toString(), 0, 0, at + ".kind",
              "must be AuthorizationPolicy or RequestAuthentication"));
          kind = null;
        }
        if (path != null && sha != null && kind != null && policy != null) {
          files.add(new FileEntry(path, sha, kind, policy));
        }
      }
    }
    List<SourceEntry> sources = new ArrayList<>();
    JsonNode sourceNodes = root.get("sources");
    if (sourceNodes != null && sourceNodes.isArray()) {
      for (int i = 0; i < sourceNodes.size(); i++) {
        String at = "sources[" + i + "]";
        String path = text(sourceNodes.get(i), "path", file, errors, at);
        String sha = text(sourceNodes.get(i), "sha256", file, errors, at);
        if (path != null && sha != null) {
          sources.add(new SourceEntry(path, sha));
        }
      }
    }
    if (!errors.isEmpty()) {
      throw new ConfigException(errors);
    }
    return new Manifest(format, revision, createdAt, version, files, sources);
  }

  private static String text(JsonNode node, String field, Path file, List<ConfigError> errors) {
    return text(node, field, file, errors, "");
  }

  private static String text(JsonNode node, String field, Path file, List<ConfigError> errors, String at) {
    String path = at.isEmpty() ? field : at + "." + field;
    JsonNode value = node == null ? null : node.get(field);
    if (value == null || !value.isTextual()) {
      errors.add(new ConfigError(file.toString(), 0, 0, path, "must be a string"));
      return null;
    }
    return value.textValue();
  }

  /** {@code policies/SEGMENT/SEGMENT...}: relative, no {@code ..}, no dot files, {@code /} only. */
  static boolean safePath(String path) {
    String[] parts = path.split("/", -1);
    if (parts.length < 2 || !parts[0].equals(POLICIES_DIR)) {
      return false;
    }
    for (String part : parts) {
      if (!SEGMENT.matcher(part).matches()) {
        return false;
      }
    }
    return true;
  }
}
