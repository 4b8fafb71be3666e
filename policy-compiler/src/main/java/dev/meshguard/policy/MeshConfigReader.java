package dev.meshguard.policy;

import dev.meshguard.core.config.ConfigError;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.config.YamlDocuments;
import dev.meshguard.core.config.YamlNode;
import dev.meshguard.core.config.YamlNode.Entry;
import dev.meshguard.core.config.YamlNode.Mapping;
import dev.meshguard.core.config.YamlNode.Mark;
import dev.meshguard.core.config.YamlNode.Null;
import dev.meshguard.core.config.YamlNode.Scalar;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * Reads the parts of Istio's MeshConfig that policy semantics depend on, from the MeshConfig YAML
 * itself, from the {@code istio} ConfigMap that carries it as the string {@code data.mesh}, or from
 * the {@code meshConfig} section of Helm values or of an IstioOperator ({@code spec.meshConfig}).
 *
 * <p>MeshConfig has dozens of fields meshguard does not use; they are accepted and ignored, except
 * that a key which looks like a misspelling of a field meshguard reads ({@code rootNamepsace}) is
 * an error, because ignoring it would silently change what policies mean. Checks follow istio/istio
 * {@code pkg/config/validation}: ValidateTrustDomain, and the extension provider checks of
 * {@code agent/extensionprovider.go} (port 1–65535, a service, a pathPrefix starting with
 * {@code /}, unique names). Durations are written as protobuf JSON writes them ({@code "0.5s"}).
 */
final class MeshConfigReader {

  static final long MAX_FILE_BYTES = 4L << 20;

  /** The ext_authz call timeout when the provider sets none (Istio's 600s default is no real-world choice). */
  static final Duration DEFAULT_PROVIDER_TIMEOUT = Duration.ofSeconds(1);

  private static final Set<String> READ_FIELDS = Set.of("rootNamespace", "trustDomain", "trustDomainAliases",
      "extensionProviders", "defaultConfig");

  /** istio.mesh.v1alpha1.MeshConfig.ExtensionProvider's oneof, besides the two ext_authz kinds read here. */
  private static final Set<String> PROVIDER_KINDS = Set.of("envoyExtAuthzHttp", "envoyExtAuthzGrpc", "zipkin",
      "lightstep", "datadog", "stackdriver", "opencensus", "skywalking", "opentelemetry", "prometheus",
      "envoyFileAccessLog", "envoyHttpAls", "envoyTcpAls", "envoyOtelAls", "sds");

  private static final Set<String> EXT_AUTHZ_FIELDS = Set.of("service", "port", "timeout", "failOpen", "pathPrefix",
      "includeRequestHeadersInCheck", "statusOnError", "includeRequestBodyInCheck", "includeHeadersInCheck",
      "includeAdditionalHeadersInCheck", "headersToUpstreamOnAllow", "headersToDownstreamOnDeny",
      "headersToDownstreamOnAllow");

  /** Istio's {@code EnvoyExternalAuthorizationRequestBody}. */
  private static final Set<String> REQUEST_BODY_FIELDS = Set.of("maxRequestBytes", "allowPartialMessage",
      "packAsBytes");

  /** envoyExtAuthzHttp fields that envoyExtAuthzGrpc does not have. */
  private static final List<String> HTTP_ONLY_FIELDS = List.of("pathPrefix", "includeRequestHeadersInCheck",
      "includeHeadersInCheck", "includeAdditionalHeadersInCheck", "headersToUpstreamOnAllow",
      "headersToDownstreamOnDeny", "headersToDownstreamOnAllow");

  private final Diagnostics diagnostics = new Diagnostics();

  private MeshConfigReader() {}

  static MeshConfig load(Path file) throws ConfigException {
    String source = file.toString();
    byte[] bytes;
    try {
      if (Files.isDirectory(file)) {
        throw new ConfigException(new ConfigError(source, 0, 0, "", "is a directory, not a mesh config file"));
      }
      if (Files.size(file) > MAX_FILE_BYTES) {
        throw new ConfigException(new ConfigError(source, 0, 0, "", "a mesh config file may have at most "
            + MAX_FILE_BYTES + " bytes"));
      }
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new ConfigException(new ConfigError(source, 0, 0, "", "no such file"));
    } catch (IOException e) {
      throw new ConfigException(new ConfigError(source, 0, 0, "", "cannot read the file: " + e.getMessage()));
    }
    String text;
    try {
      text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
    } catch (CharacterCodingException e) {
      throw new ConfigException(new ConfigError(source, 0, 0, "", "not valid UTF-8 text"));
    }
    return parse(source, text);
  }

  static MeshConfig parse(String source, String text) throws ConfigException {
    MeshConfigReader reader = new MeshConfigReader();
    YamlNode root = reader.document(source, text.startsWith("\uFEFF") ? text.substring(1) : text);
    MeshConfig config = root == null ? MeshConfig.DEFAULT : reader.configOrConfigMap(source, text, root);
    reader.diagnostics.throwIfErrors();
    return config;
  }

  /** The one document of the file, or null when it is empty. */
  private YamlNode document(String source, String text) throws ConfigException {
    List<YamlNode> documents = source.toLowerCase(Locale.ROOT).endsWith(".json")
        ? List.of(YamlDocuments.readJson(text, source, diagnostics.errorSink()))
        : YamlDocuments.readYaml(text, source, diagnostics.errorSink());
    List<YamlNode> present = documents.stream().filter(d -> !(d instanceof Null)).toList();
    if (present.size() > 1) {
      diagnostics.error(present.get(1).mark(), "", "a mesh config file holds one document; found another here");
    }
    return present.isEmpty() ? null : present.get(0);
  }

  private MeshConfig configOrConfigMap(String source, String text, YamlNode root) throws ConfigException {
    if (root instanceof Mapping mapping && "ConfigMap".equals(kind(mapping))) {
      return fromConfigMap(source, text, Fields.of(diagnostics, root, ""));
    }
    Fields fields = Fields.of(diagnostics, root, "");
    if (fields == null) {
      return MeshConfig.DEFAULT;
    }
    // The same MeshConfig inside Helm values (meshConfig:) or an IstioOperator (spec.meshConfig):
    // read it there rather than ignore every field and fall back to the defaults.
    if (root instanceof Mapping mapping && "IstioOperator".equals(kind(mapping))) {
      Fields spec = fields.mapping("spec");
      Fields mesh = spec == null ? null : spec.mapping("meshConfig");
      return mesh == null ? MeshConfig.DEFAULT : meshConfig(mesh);
    }
    if (fields.has("meshConfig") && READ_FIELDS.stream().noneMatch(fields::present)) {
      Fields mesh = fields.mapping("meshConfig");
      return mesh == null ? MeshConfig.DEFAULT : meshConfig(mesh);
    }
    return meshConfig(fields);
  }

  private static String kind(Mapping mapping) {
    for (Entry entry : mapping.entries()) {
      if (entry.key().equals("kind") && entry.value() instanceof Scalar kind) {
        return kind.text();
      }
    }
    return null;
  }

  /** The {@code istio} ConfigMap: {@code data.mesh} holds the MeshConfig as a YAML string. */
  private MeshConfig fromConfigMap(String source, String outerText, Fields configMap) throws ConfigException {
    Fields data = configMap.mapping("data");
    if (data == null) {
      if (!configMap.has("data")) {
        diagnostics.error(configMap.mark(), "data", "missing required field \"data\" (with the key \"mesh\")");
      }
      return MeshConfig.DEFAULT;
    }
    Located<String> mesh = data.string("mesh");
    if (mesh == null) {
      if (!data.has("mesh")) {
        diagnostics.error(data.mark(), "data.mesh", "missing required field \"mesh\": the ConfigMap carries the "
            + "MeshConfig as the string data.mesh");
      }
      return MeshConfig.DEFAULT;
    }
    // Errors inside the string are moved to where the string's lines are in the file.
    UnaryOperator<ConfigError> relocate = relocation(outerText, mesh.mark());
    MeshConfigReader inner = new MeshConfigReader();
    MeshConfig config = MeshConfig.DEFAULT;
    try {
      YamlNode root = inner.document(source, mesh.value());
      if (root != null) {
        Fields fields = Fields.of(inner.diagnostics, root, "");
        config = fields == null ? MeshConfig.DEFAULT : inner.meshConfig(fields);
      }
    } catch (ConfigException e) {
      e.errors().forEach(inner.diagnostics::add);
    }
    try {
      inner.diagnostics.throwIfErrors();
    } catch (ConfigException e) {
      e.errors().forEach(error -> diagnostics.add(relocate.apply(error)));
    }
    return config;
  }

  /**
   * Maps a position inside {@code data.mesh} to the file: line for line and shifted by the
   * indentation for a block scalar ({@code mesh: |}); at the string itself for a quoted one.
   */
  private static UnaryOperator<ConfigError> relocation(String outerText, Mark scalar) {
    String[] lines = outerText.split("\n", -1);
    int indicatorLine = scalar.line();
    String indicator = indicatorLine >= 1 && indicatorLine <= lines.length ? lines[indicatorLine - 1] : "";
    String afterMark = scalar.column() >= 1 && scalar.column() <= indicator.length()
        ? indicator.substring(scalar.column() - 1).strip() : "";
    boolean block = afterMark.startsWith("|") || afterMark.startsWith(">");
    int indent = 0;
    if (block) {
      for (int i = indicatorLine; i < lines.length; i++) {
        if (!lines[i].isBlank()) {
          indent = lines[i].length() - lines[i].stripLeading().length();
          break;
        }
      }
    }
    boolean blockScalar = block;
    int shift = indent;
    return error -> {
      String path = error.path().isEmpty() ? "data.mesh" : "data.mesh." + error.path();
      if (blockScalar && error.line() > 0) {
        return new ConfigError(error.source(), indicatorLine + error.line(), error.column() + shift, path,
            error.message());
      }
      return new ConfigError(error.source(), scalar.line(), scalar.column(), path, error.message());
    };
  }

  private MeshConfig meshConfig(Fields mesh) {
    typos(mesh, READ_FIELDS);
    String rootNamespace = MeshConfig.DEFAULT_ROOT_NAMESPACE;
    Located<String> root = mesh.string("rootNamespace");
    if (root != null && !root.value().isEmpty()) {
      if (!IstioChecks.isDns1123Label(root.value())) {
        diagnostics.error(root.mark(), root.path(), "invalid rootNamespace " + Nodes.quote(root.value())
            + ": must be a namespace name (a lowercase RFC 1123 label)");
      }
      rootNamespace = root.value();
    }
    String trustDomain = MeshConfig.DEFAULT_TRUST_DOMAIN;
    Located<String> td = mesh.string("trustDomain");
    if (td != null && !td.value().isEmpty()) {
      checkTrustDomain(td);
      trustDomain = td.value();
    }
    List<String> aliases = new ArrayList<>();
    ResourceReader.forEach(mesh.strings("trustDomainAliases"), alias -> {
      checkTrustDomain(alias);
      aliases.add(alias.value());
    });
    Map<String, ExtensionProvider> providers = providers(mesh);
    int numTrustedProxies = numTrustedProxies(mesh);
    return new MeshConfig(rootNamespace, trustDomain, aliases, providers, numTrustedProxies);
  }

  /** validation.go's ValidateTrustDomain: DNS-1123 labels separated by dots, the last may be empty. */
  private void checkTrustDomain(Located<String> domain) {
    String[] labels = domain.value().split("\\.", -1);
    boolean valid = !domain.value().isEmpty();
    for (int i = 0; i < labels.length && valid; i++) {
      if (i == labels.length - 1 && labels[i].isEmpty() && i > 0) {
        break;
      }
      valid = IstioChecks.isDns1123Label(labels[i]);
    }
    if (!valid) {
      diagnostics.error(domain.mark(), domain.path(), "trust domain name " + Nodes.quote(domain.value())
          + " invalid: each dot-separated part must be a lowercase RFC 1123 label");
    }
  }

  private Map<String, ExtensionProvider> providers(Fields mesh) {
    Map<String, ExtensionProvider> providers = new LinkedHashMap<>();
    Map<String, Mark> names = new LinkedHashMap<>();
    List<YamlNode> items = mesh.list("extensionProviders");
    if (items == null) {
      return providers;
    }
    ResourceReader.each(items, mesh.childPath("extensionProviders"), (i, node, path) -> {
      Fields provider = node instanceof Null ? null : Fields.of(diagnostics, node, path);
      if (provider == null) {
        if (node instanceof Null) {
          diagnostics.error(node.mark(), path, "an extension provider must not be null");
        }
        return;
      }
      Located<String> name = provider.string("name");
      if (name == null || name.value().isEmpty()) {
        if (name != null || !provider.has("name")) {
          diagnostics.error(name == null ? provider.mark() : name.mark(), provider.childPath("name"),
              "extension provider name must not be empty");
        }
      } else {
        Mark first = names.putIfAbsent(name.value(), name.mark());
        if (first != null) {
          diagnostics.error(name.mark(), name.path(), "duplicate extension provider name " + Nodes.quote(name.value())
              + ", first defined at line " + first.line());
        }
      }
      List<String> kinds = new ArrayList<>();
      for (String kind : PROVIDER_KINDS) {
        if (provider.present(kind)) {
          kinds.add(kind);
        }
      }
      Set<String> known = new HashSet<>(PROVIDER_KINDS);
      known.add("name");
      typos(provider, known);
      if (kinds.size() > 1) {
        kinds.sort(null);
        diagnostics.error(provider.mark(), path, "an extension provider has exactly one type, found "
            + String.join(" and ", kinds));
        return;
      }
      if (kinds.isEmpty()) {
        diagnostics.error(provider.mark(), path, "an extension provider needs a type, such as envoyExtAuthzGrpc or "
            + "envoyExtAuthzHttp");
        return;
      }
      String kind = kinds.get(0);
      boolean grpc = kind.equals("envoyExtAuthzGrpc");
      if (!grpc && !kind.equals("envoyExtAuthzHttp")) {
        return; // tracing, logging and metrics providers do not concern policies
      }
      Fields body = provider.mapping(kind);
      if (body == null) {
        if (!provider.has(kind)) {
          diagnostics.error(provider.keyMark(kind), provider.childPath(kind), "must be a mapping, found null");
        }
        return;
      }
      ExtensionProvider value = extAuthz(body, name == null ? "" : name.value(), grpc);
      if (value != null && name != null && !name.value().isEmpty() && !providers.containsKey(name.value())) {
        providers.put(name.value(), value);
      }
    });
    return providers;
  }

  private ExtensionProvider extAuthz(Fields body, String name, boolean grpc) {
    typos(body, EXT_AUTHZ_FIELDS);
    int errors = diagnostics.errorCount();
    Located<String> service = body.string("service");
    if (service == null || service.value().isEmpty()) {
      if (service != null || !body.has("service")) {
        diagnostics.error(service == null ? body.mark() : service.mark(), body.childPath("service"),
            "service must not be empty");
      }
    } else {
      String problem = serviceProblem(service.value());
      if (problem != null) {
        diagnostics.error(service.mark(), service.path(), problem);
      }
    }
    Integer port = integer(body, "port");
    if (port == null && !body.has("port")) {
      diagnostics.error(body.mark(), body.childPath("port"), "port number 0 must be in the range 1..65535");
    } else if (port != null && (port < 1 || port > 65535)) {
      diagnostics.error(body.keyMark("port"), body.childPath("port"), "port number " + port
          + " must be in the range 1..65535");
    }
    Duration timeout = DEFAULT_PROVIDER_TIMEOUT;
    Located<String> timeoutText = body.string("timeout");
    if (timeoutText != null) {
      Long nanos = IstioChecks.protoDurationNanos(timeoutText.value());
      if (nanos == null || nanos <= 0) {
        diagnostics.error(timeoutText.mark(), timeoutText.path(), "invalid timeout " + Nodes.quote(timeoutText.value())
            + ": write a positive duration in seconds with an \"s\" suffix, such as \"0.5s\"");
      } else {
        timeout = Duration.ofNanos(nanos);
      }
    }
    Boolean failOpen = body.bool("failOpen");
    int statusOnError = statusOnError(body);
    ExtensionProvider.RequestBody requestBody = requestBody(body);
    String pathPrefix = "";
    List<String> headers = List.of();
    Map<String, String> additional = Map.of();
    List<String> upstreamOnAllow = List.of();
    List<String> downstreamOnDeny = List.of();
    List<String> downstreamOnAllow = List.of();
    if (grpc) {
      for (String httpOnly : HTTP_ONLY_FIELDS) {
        if (body.present(httpOnly)) {
          diagnostics.error(body.keyMark(httpOnly), body.childPath(httpOnly),
              httpOnly + " is a field of envoyExtAuthzHttp, not envoyExtAuthzGrpc");
        }
      }
    } else {
      Located<String> prefix = body.string("pathPrefix");
      if (prefix != null && !prefix.value().isEmpty()) {
        if (!prefix.value().startsWith("/")) {
          diagnostics.error(prefix.mark(), prefix.path(), "pathPrefix should begin with `/` but found "
              + Nodes.quote(prefix.value()));
        }
        pathPrefix = prefix.value();
      }
      // includeHeadersInCheck is the deprecated name of includeRequestHeadersInCheck; Istio reads
      // the old one only when the new one is unset.
      headers = headerPatterns(body, body.present("includeRequestHeadersInCheck") || !body.present(
          "includeHeadersInCheck") ? "includeRequestHeadersInCheck" : "includeHeadersInCheck");
      upstreamOnAllow = headerPatterns(body, "headersToUpstreamOnAllow");
      downstreamOnDeny = headerPatterns(body, "headersToDownstreamOnDeny");
      downstreamOnAllow = headerPatterns(body, "headersToDownstreamOnAllow");
      Map<String, Located<String>> extra = body.stringMap("includeAdditionalHeadersInCheck");
      if (extra != null) {
        Map<String, String> values = new LinkedHashMap<>();
        extra.forEach((k, v) -> {
          if (k.isEmpty()) {
            diagnostics.error(v.mark(), v.path(), "a header name must not be empty");
          }
          values.put(k, v.value());
        });
        additional = values;
      }
    }
    if (diagnostics.errorCount() != errors) {
      return null;
    }
    return new ExtensionProvider(name, grpc, service.value(), port, timeout, Boolean.TRUE.equals(failOpen), pathPrefix,
        headers, statusOnError, additional, upstreamOnAllow, downstreamOnDeny, downstreamOnAllow, requestBody);
  }

  /**
   * {@code includeRequestBodyInCheck: {maxRequestBytes, allowPartialMessage, packAsBytes}}; null
   * when absent. {@code maxRequestBytes} must be positive: istiod copies it to Envoy's
   * {@code with_request_body.max_request_bytes}, which Envoy rejects at 0.
   */
  private ExtensionProvider.RequestBody requestBody(Fields provider) {
    Fields body = provider.mapping("includeRequestBodyInCheck");
    if (body == null) {
      return null;
    }
    typos(body, REQUEST_BODY_FIELDS);
    Integer max = integer(body, "maxRequestBytes");
    Boolean partial = body.bool("allowPartialMessage");
    Boolean packAsBytes = body.bool("packAsBytes");
    if (max == null || max <= 0) {
      if (max != null || !body.present("maxRequestBytes")) {
        diagnostics.error(body.keyMark("maxRequestBytes"), body.childPath("maxRequestBytes"),
            "maxRequestBytes must be a positive number of bytes (Envoy's with_request_body.max_request_bytes), found "
                + (max == null ? "none" : max));
      }
      return null;
    }
    return new ExtensionProvider.RequestBody(max, Boolean.TRUE.equals(partial), Boolean.TRUE.equals(packAsBytes));
  }

  private List<String> headerPatterns(Fields body, String key) {
    List<Located<String>> included = body.strings(key);
    ResourceReader.forEach(included, header -> {
      if (header.value().isEmpty()) {
        diagnostics.error(header.mark(), header.path(), "a header name must not be empty");
      }
    });
    return ResourceReader.values(included);
  }

  /**
   * {@code statusOnError}: a string in the proto ({@code "403"}), an integer in much YAML; Istio
   * parses it as a number and Envoy needs an HTTP status. Unset: 403.
   */
  private int statusOnError(Fields body) {
    if (!body.present("statusOnError")) {
      return ExtensionProvider.DEFAULT_STATUS_ON_ERROR;
    }
    Integer status = integer(body, "statusOnError");
    if (status == null) {
      return ExtensionProvider.DEFAULT_STATUS_ON_ERROR;
    }
    if (status < 100 || status > 599) {
      diagnostics.error(body.keyMark("statusOnError"), body.childPath("statusOnError"), "statusOnError " + status
          + " is not an HTTP status (100..599)");
    }
    return status;
  }

  /** agent.validateExtensionProviderService: a host name or IP, or {@code namespace/host}. */
  private static String serviceProblem(String service) {
    String[] parts = service.split("/", -1);
    if (parts.length > 2 || parts.length == 2 && (parts[0].isEmpty() || parts[1].isEmpty())) {
      return "invalid service " + Nodes.quote(service) + ": write a host name, or namespace/host name";
    }
    String host = parts[parts.length - 1];
    if (parts.length == 2 && !IstioChecks.isDns1123Label(parts[0]) && !parts[0].equals("*") && !parts[0].equals(".")) {
      return "invalid service " + Nodes.quote(service) + ": " + Nodes.quote(parts[0]) + " is not a namespace name";
    }
    if (IstioChecks.addressProblem(host) == null || isFqdn(host)) {
      return null;
    }
    return "invalid service " + Nodes.quote(service) + ": " + Nodes.quote(host) + " is neither a host name nor an IP";
  }

  private static boolean isFqdn(String host) {
    String h = host.endsWith(".") ? host.substring(0, host.length() - 1) : host;
    if (h.isEmpty() || h.length() > 255) {
      return false;
    }
    for (String label : h.split("\\.", -1)) {
      if (!IstioChecks.isDns1123Label(label.toLowerCase(Locale.ROOT))) {
        return false;
      }
    }
    return true;
  }

  /** {@code defaultConfig.gatewayTopology.numTrustedProxies}, 0 when not set. */
  private int numTrustedProxies(Fields mesh) {
    Fields defaultConfig = mesh.mapping("defaultConfig");
    Fields topology = defaultConfig == null ? null : defaultConfig.mapping("gatewayTopology");
    if (topology == null) {
      return 0;
    }
    Integer value = integer(topology, "numTrustedProxies");
    if (value != null && value < 0) {
      diagnostics.error(topology.keyMark("numTrustedProxies"), topology.childPath("numTrustedProxies"),
          "must not be negative, found " + value);
      return 0;
    }
    return value == null ? 0 : value;
  }

  /**
   * An integer field, written as a number or, as protobuf JSON allows for integers, a decimal
   * string; null when absent or invalid (with an error).
   */
  private Integer integer(Fields fields, String key) {
    YamlNode node = fields.node(key);
    if (node == null) {
      return null;
    }
    if (node instanceof Scalar scalar && (scalar.type() == Scalar.Type.INTEGER || scalar.type() == Scalar.Type.STRING)
        && scalar.text().matches("-?[0-9]{1,10}")) {
      long value = Long.parseLong(scalar.text());
      if (value >= Integer.MIN_VALUE && value <= Integer.MAX_VALUE) {
        return (int) value;
      }
    }
    Fields.mismatch(diagnostics, node, fields.childPath(key), "must be an integer");
    return null;
  }

  /** Reports keys that look like misspellings of {@code known} (other unknown keys are Istio's, not ours). */
  private void typos(Fields fields, Set<String> known) {
    for (String key : fields.keys()) {
      if (!known.contains(key)) {
        String suggestion = Nodes.closest(key, known);
        if (suggestion != null) {
          diagnostics.error(fields.keyMark(key), fields.childPath(key), "unknown field " + Nodes.quote(key)
              + "; did you mean " + Nodes.quote(suggestion) + "?");
        }
      }
    }
  }
}
