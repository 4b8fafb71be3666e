package dev.meshguard.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.meshguard.core.config.ConfigError;
import dev.meshguard.core.config.ConfigException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link MeshConfig#load}: Istio's MeshConfig YAML and the istio ConfigMap that carries it. */
class MeshConfigTest {

  @TempDir
  Path dir;

  private static final String MESH = """
      rootNamespace: istio-config
      trustDomain: td1
      trustDomainAliases: [old-td, cluster.local]
      accessLogFile: /dev/stdout
      defaultConfig:
        discoveryAddress: istiod.istio-system.svc:15012
        gatewayTopology:
          numTrustedProxies: 2
      extensionProviders:
      - name: ext-authz-grpc
        envoyExtAuthzGrpc:
          service: ext-authz.foo.svc.cluster.local
          port: 9000
          timeout: 0.25s
          failOpen: true
          statusOnError: "503"
      - name: ext-authz-http
        envoyExtAuthzHttp:
          service: foo/ext-authz.foo.svc.cluster.local
          port: "8000"
          pathPrefix: /check
          includeRequestHeadersInCheck: ["x-ext-authz", "authorization"]
          headersToUpstreamOnAllow: ["x-ext-authz-check-result"]
          headersToDownstreamOnDeny: ["x-reason*", "set-cookie"]
          headersToDownstreamOnAllow: ["*-trace"]
          includeAdditionalHeadersInCheck: {x-origin: meshguard}
      - name: otel
        opentelemetry:
          service: otel.observability.svc.cluster.local
          port: 4317
      """;

  @Test
  void readsWhatPoliciesDependOn() throws Exception {
    Path file = dir.resolve("mesh.yaml");
    Files.writeString(file, MESH);
    assertThat(MeshConfig.load(file)).isEqualTo(new MeshConfig("istio-config", "td1", List.of("old-td", "cluster.local"),
        Map.of(
            "ext-authz-grpc", new ExtensionProvider("ext-authz-grpc", true, "ext-authz.foo.svc.cluster.local", 9000,
                Duration.ofMillis(250), true, "", List.of(), 503, Map.of(), List.of(), List.of(), List.of()),
            "ext-authz-http", new ExtensionProvider("ext-authz-http", false, "foo/ext-authz.foo.svc.cluster.local",
                8000, MeshConfigReader.DEFAULT_PROVIDER_TIMEOUT, false, "/check",
                List.of("x-ext-authz", "authorization"), 403, Map.of("x-origin", "meshguard"),
                List.of("x-ext-authz-check-result"), List.of("x-reason*", "set-cookie"), List.of("*-trace"))),
        2));
  }

  @Test
  void readsTheIstioConfigMapWithErrorsAtTheirLinesInTheFile() throws Exception {
    String configMap = """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: istio
          namespace: istio-system
        data:
          mesh: |-
        %s
          meshNetworks: |-
            networks: {}
        """.formatted(MESH.indent(4).stripTrailing());
    assertThat(MeshConfig.parse("cm.yaml", configMap)).isEqualTo(MeshConfig.parse("mesh.yaml", MESH));

    String broken = configMap.replace("port: 9000", "port: 70000").replace("trustDomain: td1", "trustDomain: TD_1");
    ConfigException e = catchThrowableOfType(ConfigException.class, () -> MeshConfig.parse("cm.yaml", broken));
    assertThat(e.errors()).containsExactly(
        new ConfigError("cm.yaml", 9, 18, "data.mesh.trustDomain",
            "trust domain name \"TD_1\" invalid: each dot-separated part must be a lowercase RFC 1123 label"),
        new ConfigError("cm.yaml", 20, 9, "data.mesh.extensionProviders[0].envoyExtAuthzGrpc.port",
            "port number 70000 must be in the range 1..65535"));
  }

  @Test
  void readsTheMeshConfigSectionOfHelmValuesAndOfAnIstioOperator() throws Exception {
    MeshConfig expected = MeshConfig.parse("mesh.yaml", MESH);
    assertThat(MeshConfig.parse("values.yaml", "global:\n  hub: docker.io/istio\nmeshConfig:\n" + MESH.indent(2)))
        .isEqualTo(expected);
    assertThat(MeshConfig.parse("iop.yaml", """
        apiVersion: install.istio.io/v1alpha1
        kind: IstioOperator
        spec:
          profile: default
          meshConfig:
        %s""".formatted(MESH.indent(4)))).isEqualTo(expected);
    ConfigException e = catchThrowableOfType(ConfigException.class,
        () -> MeshConfig.parse("values.yaml", "meshConfig:\n  trustDomain: Bad\n"));
    assertThat(e.errors()).extracting(ConfigError::render).containsExactly("values.yaml:2:16: meshConfig.trustDomain: "
        + "trust domain name \"Bad\" invalid: each dot-separated part must be a lowercase RFC 1123 label");
  }

  @Test
  void aQuotedMeshStringPutsItsErrorsAtTheString() {
    ConfigException e = catchThrowableOfType(ConfigException.class, () -> MeshConfig.parse("cm.yaml", """
        apiVersion: v1
        kind: ConfigMap
        data:
          mesh: "rootNamespace: Not_A_Namespace"
        """));
    assertThat(e.errors()).extracting(ConfigError::render).containsExactly("cm.yaml:4:9: data.mesh.rootNamespace: "
        + "invalid rootNamespace \"Not_A_Namespace\": must be a namespace name (a lowercase RFC 1123 label)");
  }

  @Test
  void emptyAndUnsetFieldsTakeIstiosDefaults() throws Exception {
    assertThat(MeshConfig.parse("m.yaml", "")).isEqualTo(MeshConfig.DEFAULT);
    assertThat(MeshConfig.parse("m.yaml", "# just a comment\n")).isEqualTo(MeshConfig.DEFAULT);
    assertThat(MeshConfig.parse("m.yaml", "rootNamespace: \"\"\ntrustDomain: \"\"\nenableTracing: true\n"))
        .isEqualTo(MeshConfig.DEFAULT);
    assertThat(MeshConfig.DEFAULT.rootNamespace()).isEqualTo("istio-system");
    assertThat(MeshConfig.DEFAULT.trustDomain()).isEqualTo("cluster.local");
  }

  @Test
  void statusOnErrorIsAnHttpStatusAndHttpOnlyFieldsStayOffGrpcProviders() {
    ConfigException e = catchThrowableOfType(ConfigException.class, () -> MeshConfig.parse("m.yaml", """
        extensionProviders:
        - name: a
          envoyExtAuthzHttp: {service: x, port: 1, statusOnError: "42"}
        - name: b
          envoyExtAuthzGrpc: {service: x, port: 1, headersToUpstreamOnAllow: [x]}
        """));
    assertThat(e.errors()).extracting(ConfigError::render).containsExactly(
        "m.yaml:3:44: extensionProviders[0].envoyExtAuthzHttp.statusOnError: statusOnError 42 is not an HTTP status "
            + "(100..599)",
        "m.yaml:5:44: extensionProviders[1].envoyExtAuthzGrpc.headersToUpstreamOnAllow: headersToUpstreamOnAllow is a "
            + "field of envoyExtAuthzHttp, not envoyExtAuthzGrpc");
  }

  @Test
  void includeRequestBodyInCheckIsReadForBothKindsAndNeedsAPositiveSize() throws Exception {
    MeshConfig mesh = MeshConfig.parse("m.yaml", """
        extensionProviders:
        - name: h
          envoyExtAuthzHttp:
            service: x
            port: 1
            includeRequestBodyInCheck: {maxRequestBytes: 4096, allowPartialMessage: true}
        - name: g
          envoyExtAuthzGrpc:
            service: x
            port: 2
            includeRequestBodyInCheck: {maxRequestBytes: "10", packAsBytes: true}
        - name: none
          envoyExtAuthzGrpc: {service: x, port: 3}
        """);
    assertThat(mesh.extensionProviders().get("h").includeRequestBodyInCheck())
        .isEqualTo(new ExtensionProvider.RequestBody(4096, true, false));
    assertThat(mesh.extensionProviders().get("g").includeRequestBodyInCheck())
        .isEqualTo(new ExtensionProvider.RequestBody(10, false, true));
    assertThat(mesh.extensionProviders().get("none").includeRequestBodyInCheck()).isNull();

    ConfigException e = catchThrowableOfType(ConfigException.class, () -> MeshConfig.parse("m.yaml", """
        extensionProviders:
        - name: a
          envoyExtAuthzHttp: {service: x, port: 1, includeRequestBodyInCheck: {allowPartialMessage: true}}
        - name: b
          envoyExtAuthzGrpc: {service: x, port: 1, includeRequestBodyInCheck: {maxRequestBytes: 0, packAsByte: true}}
        """));
    assertThat(e.errors()).extracting(ConfigError::render).containsExactly(
        "m.yaml:3:71: extensionProviders[0].envoyExtAuthzHttp.includeRequestBodyInCheck.maxRequestBytes: "
            + "maxRequestBytes must be a positive number of bytes (Envoy's with_request_body.max_request_bytes), "
            + "found none",
        "m.yaml:5:72: extensionProviders[1].envoyExtAuthzGrpc.includeRequestBodyInCheck.maxRequestBytes: "
            + "maxRequestBytes must be a positive number of bytes (Envoy's with_request_body.max_request_bytes), "
            + "found 0",
        "m.yaml:5:92: extensionProviders[1].envoyExtAuthzGrpc.includeRequestBodyInCheck.packAsByte: unknown field "
            + "\"packAsByte\"; did you mean \"packAsBytes\"?");
  }

  @Test
  void everyMistakeIsReportedPrecisely() {
    ConfigException e = catchThrowableOfType(ConfigException.class, () -> MeshConfig.parse("m.yaml", """
        rootNamepsace: istio-config
        trustDomain: cluster.local
        trustDomainAliases: ["ok.example", "-bad"]
        extensionProviders:
        - name: a
          envoyExtAuthzGrpc:
            service: ""
            port: 0
            pathPrefix: /x
        - name: a
          envoyExtAuthzHttp:
            service: "a b"
            port: http
            timeout: 1m
            failOpen: "true"
            pathPrefix: check
        - name: both
          envoyExtAuthzGrpc: {service: x, port: 1}
          envoyExtAuthzHttp: {service: x, port: 1}
        - envoyExtAuthzGprc: {service: x, port: 1}
        defaultConfig:
          gatewayTopology:
            numTrustedProxies: -1
        """));
    assertThat(e.errors()).extracting(ConfigError::render).containsExactly(
        "m.yaml:1:1: rootNamepsace: unknown field \"rootNamepsace\"; did you mean \"rootNamespace\"?",
        "m.yaml:3:36: trustDomainAliases[1]: trust domain name \"-bad\" invalid: each dot-separated part must be a "
            + "lowercase RFC 1123 label",
        "m.yaml:7:14: extensionProviders[0].envoyExtAuthzGrpc.service: service must not be empty",
        "m.yaml:8:5: extensionProviders[0].envoyExtAuthzGrpc.port: port number 0 must be in the range 1..65535",
        "m.yaml:9:5: extensionProviders[0].envoyExtAuthzGrpc.pathPrefix: pathPrefix is a field of envoyExtAuthzHttp, "
            + "not envoyExtAuthzGrpc",
        "m.yaml:10:9: extensionProviders[1].name: duplicate extension provider name \"a\", first defined at line 5",
        "m.yaml:12:14: extensionProviders[1].envoyExtAuthzHttp.service: invalid service \"a b\": \"a b\" is neither a "
            + "host name nor an IP",
        "m.yaml:13:11: extensionProviders[1].envoyExtAuthzHttp.port: must be an integer, found the string \"http\"",
        "m.yaml:14:14: extensionProviders[1].envoyExtAuthzHttp.timeout: invalid timeout \"1m\": write a positive "
            + "duration in seconds with an \"s\" suffix, such as \"0.5s\"",
        "m.yaml:15:15: extensionProviders[1].envoyExtAuthzHttp.failOpen: must be a boolean (true or false), found the "
            + "string \"true\"",
        "m.yaml:16:17: extensionProviders[1].envoyExtAuthzHttp.pathPrefix: pathPrefix should begin with `/` but found "
            + "\"check\"",
        "m.yaml:17:3: extensionProviders[2]: an extension provider has exactly one type, found envoyExtAuthzGrpc and "
            + "envoyExtAuthzHttp",
        "m.yaml:20:3: extensionProviders[3]: an extension provider needs a type, such as envoyExtAuthzGrpc or "
            + "envoyExtAuthzHttp",
        "m.yaml:20:3: extensionProviders[3].envoyExtAuthzGprc: unknown field \"envoyExtAuthzGprc\"; did you mean "
            + "\"envoyExtAuthzGrpc\"?",
        "m.yaml:20:3: extensionProviders[3].name: extension provider name must not be empty",
        "m.yaml:23:5: defaultConfig.gatewayTopology.numTrustedProxies: must not be negative, found -1");
  }

  @Test
  void aMissingFileOrASyntaxErrorIsAConfigException() throws Exception {
    Path missing = dir.resolve("nope.yaml");
    assertThat(catchThrowableOfType(ConfigException.class, () -> MeshConfig.load(missing)).errors())
        .extracting(ConfigError::render).containsExactly(missing + ": no such file");
    Path broken = dir.resolve("broken.yaml");
    Files.writeString(broken, "rootNamespace: [\n");
    assertThat(catchThrowableOfType(ConfigException.class, () -> MeshConfig.load(broken)).errors())
        .singleElement().satisfies(error -> assertThat(error.message()).startsWith("syntax error: "));
  }

  @Test
  void oneDocumentOnly() {
    ConfigException e = catchThrowableOfType(ConfigException.class,
        () -> MeshConfig.parse("m.yaml", "rootNamespace: a\n---\nrootNamespace: b\n"));
    assertThat(e.errors()).extracting(ConfigError::render)
        .containsExactly("m.yaml:3:1: a mesh config file holds one document; found another here");
  }
}
