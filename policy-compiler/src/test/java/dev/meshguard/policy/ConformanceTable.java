package dev.meshguard.policy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Stream;

/**
 * The Istio conformance table in {@code src/test/resources/conformance/*.yaml} (format in that
 * directory's README.md), read into plain values. Reading only: nothing here knows how meshguard
 * decides, so the table's expectations stay what the cited Istio sources say.
 */
final class ConformanceTable {

  /** The module directory is the tests' working directory (as in core's golden tests). */
  static final Path DIR = Path.of("src/test/resources/conformance");

  private static final YAMLMapper YAML = new YAMLMapper();
  private static final ObjectMapper JSON = JsonMapper.builder().build();

  private ConformanceTable() {}

  /** One row: policies as users write them, one Envoy CheckRequest, and what Istio decides. */
  record Case(
      String file,
      int line,
      String name,
      String source,
      List<String> covers,
      JsonNode mesh,
      String policies,
      JsonNode request,
      Map<String, Outcome> custom,
      JsonNode expect) {

    /** {@code file:line name}, how failures point at the row. */
    String where() {
      return DIR.resolve(file) + ":" + line + " '" + name + "'";
    }

    /**
     * The mesh config of the case: Istio's defaults unless {@code mesh} overrides them. Extension
     * providers are given by name (an {@code envoyExtAuthzGrpc} provider) or as
     * {@code {name, type: envoyExtAuthzGrpc|envoyExtAuthzHttp}}.
     */
    MeshConfig meshConfig() {
      if (mesh == null || mesh.isNull()) {
        return MeshConfig.DEFAULT;
      }
      String root = mesh.path("rootNamespace").asText(MeshConfig.DEFAULT_ROOT_NAMESPACE);
      String trustDomain = mesh.path("trustDomain").asText(MeshConfig.DEFAULT_TRUST_DOMAIN);
      List<String> aliases = new ArrayList<>();
      mesh.path("trustDomainAliases").forEach(a -> aliases.add(a.asText()));
      Map<String, ExtensionProvider> providers = new LinkedHashMap<>();
      for (JsonNode p : mesh.path("extensionProviders")) {
        String providerName = p.isTextual() ? p.asText() : p.path("name").asText();
        String type = p.isTextual() ? "envoyExtAuthzGrpc" : p.path("type").asText("envoyExtAuthzGrpc");
        if (!type.equals("envoyExtAuthzGrpc") && !type.equals("envoyExtAuthzHttp")) {
          throw new IllegalArgumentException(where() + ": unknown extension provider type " + type);
        }
        providers.put(providerName, new ExtensionProvider(providerName, type.equals("envoyExtAuthzGrpc"),
            providerName + ".authz.svc.cluster.local", 9000, Duration.ofSeconds(1), false, "", List.of()));
      }
      return new MeshConfig(root, trustDomain, aliases, providers, 0);
    }

    /** The request, parsed the way Envoy's JSON would be: unknown fields are errors. */
    CheckRequest checkRequest() {
      try {
        CheckRequest.Builder builder = CheckRequest.newBuilder();
        JsonFormat.parser().merge(JSON.writeValueAsString(request), builder);
        return builder.build();
      } catch (IOException e) {
        throw new IllegalArgumentException(where() + ": request is not a CheckRequest in protobuf JSON form: "
            + e.getMessage(), e);
      }
    }

    /** Every YAML document of {@code policies}, as trees (empty for an empty string). */
    List<JsonNode> policyDocuments() {
      List<JsonNode> docs = new ArrayList<>();
      try (MappingIterator<JsonNode> it = YAML.readerFor(JsonNode.class).readValues(policies)) {
        while (it.hasNextValue()) {
          JsonNode doc = it.nextValue();
          if (doc != null && !doc.isNull() && !doc.isMissingNode()) {
            docs.add(doc);
          }
        }
      } catch (IOException e) {
        throw new UncheckedIOException(where() + ": policies are not YAML", e);
      }
      return docs;
    }
  }

  /** Every case of every {@code *.yaml} file of {@link #DIR}, files in name order. */
  static List<Case> load() {
    List<Case> cases = new ArrayList<>();
    try (Stream<Path> files = Files.list(DIR)) {
      for (Path file : files.filter(p -> p.getFileName().toString().endsWith(".yaml")).sorted().toList()) {
        cases.addAll(load(file));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + DIR.toAbsolutePath(), e);
    }
    return List.copyOf(cases);
  }

  private static List<Case> load(Path file) throws IOException {
    String text = Files.readString(file);
    List<String> lines = text.lines().toList();
    JsonNode root = YAML.readTree(text);
    String fileName = file.getFileName().toString();
    if (root == null || !root.path("cases").isArray()) {
      throw new IllegalArgumentException(file + ": expected a top-level 'cases' list");
    }
    List<Case> cases = new ArrayList<>();
    for (JsonNode c : root.path("cases")) {
      String name = required(fileName, c, "name").asText();
      List<String> covers = new ArrayList<>();
      c.path("covers").forEach(t -> covers.add(t.asText()));
      Map<String, Outcome> custom = new LinkedHashMap<>();
      c.path("custom").properties().forEach(e -> custom.put(e.getKey(), Outcome.valueOf(e.getValue().asText())));
      cases.add(new Case(fileName, lineOf(lines, name), name, required(fileName, c, "source").asText(),
          List.copyOf(covers), c.get("mesh"), required(fileName, c, "policies").asText(),
          required(fileName, c, "request"), Map.copyOf(custom), required(fileName, c, "expect")));
    }
    return cases;
  }

  private static JsonNode required(String file, JsonNode c, String field) {
    JsonNode value = c.get(field);
    if (value == null || value.isNull()) {
      throw new IllegalArgumentException(file + ": case '" + c.path("name").asText("?") + "' has no " + field);
    }
    return value;
  }

  private static int lineOf(List<String> lines, String name) {
    for (int i = 0; i < lines.size(); i++) {
      String l = lines.get(i).strip();
      if (l.equals("- name: " + name) || l.equals("- name: \"" + name + "\"")) {
        return i + 1;
      }
    }
    return 0;
  }

  /** For messages: a tree as one-line JSON. */
  static String json(JsonNode node) {
    try {
      return JSON.writeValueAsString(Objects.requireNonNull(node));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
