package dev.meshguard.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.TypeRegistry;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.route.v3.RateLimit.Action;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.ExtAuthz;
import io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute;
import io.envoyproxy.envoy.extensions.filters.http.ratelimit.v3.RateLimit;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code deploy/envoy/envoy.yaml} is a real Envoy bootstrap: it parses into Envoy's
 * {@code envoy.config.bootstrap.v3.Bootstrap} with every {@code typed_config} resolved (protobuf's
 * JSON parser refuses unknown fields, so a misspelt key fails the build), and it fits meshguard:
 * the rate limit filters reach the port meshguard listens on over HTTP/2, ext_authz runs before
 * them (its dynamic metadata feeds the {@code tenant} descriptor), and every descriptor the
 * routes produce finds a limit in {@code policies/ratelimit/}.
 */
class EnvoyDeployConfigTest {

  static final TypeRegistry TYPES = TypeRegistry.newBuilder()
      .add(HttpConnectionManager.getDescriptor())
      .add(ExtAuthz.getDescriptor())
      .add(RateLimit.getDescriptor())
      .add(Router.getDescriptor())
      .add(HttpProtocolOptions.getDescriptor())
      .build();

  /** The checkout's root: the module's working directory or one of its parents. */
  static Path root() {
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null && !Files.isRegularFile(dir.resolve("deploy/envoy/envoy.yaml"))) {
      dir = dir.getParent();
    }
    assertThat(dir).as("deploy/envoy/envoy.yaml above %s", Path.of("").toAbsolutePath()).isNotNull();
    return dir;
  }

  static Bootstrap parse(String yaml) throws Exception {
    JsonNode tree = new YAMLMapper().readTree(yaml);
    Bootstrap.Builder bootstrap = Bootstrap.newBuilder();
    JsonFormat.parser().usingTypeRegistry(TYPES).merge(new ObjectMapper().writeValueAsString(tree), bootstrap);
    return bootstrap.build();
  }

  static Bootstrap bootstrap() throws Exception {
    return parse(Files.readString(root().resolve("deploy/envoy/envoy.yaml")));
  }

  static HttpConnectionManager hcm(Bootstrap bootstrap) throws InvalidProtocolBufferException {
    return bootstrap.getStaticResources().getListeners(0).getFilterChains(0).getFilters(0).getTypedConfig()
        .unpack(HttpConnectionManager.class);
  }

  static Map<Integer, String> domainsByStage(HttpConnectionManager hcm) throws InvalidProtocolBufferException {
    Map<Integer, String> domains = new HashMap<>();
    for (HttpFilter filter : hcm.getHttpFiltersList()) {
      if (filter.getTypedConfig().is(RateLimit.class)) {
        RateLimit rl = filter.getTypedConfig().unpack(RateLimit.class);
        assertThat(domains.put(rl.getStage(), rl.getDomain())).as("one filter per stage").isNull();
      }
    }
    return domains;
  }

  @Test
  void parsesIntoEnvoysBootstrap() throws Exception {
    Bootstrap bootstrap = bootstrap();
    assertThat(bootstrap.getStaticResources().getClustersList()).extracting(Cluster::getName)
        .containsExactly("meshguard_ratelimit", "meshguard_authz", "app");
    assertThat(domainsByStage(hcm(bootstrap))).containsExactlyInAnyOrderEntriesOf(Map.of(0, "edge", 1, "tenants"));
  }

  @Test
  void aMisspeltFieldFails() throws Exception {
    String yaml = Files.readString(root().resolve("deploy/envoy/envoy.yaml"));
    assertThat(yaml).contains("skip_if_absent: true");
    assertThatThrownBy(() -> parse(yaml.replace("skip_if_absent: true", "skip_if_abset: true")))
        .isInstanceOf(InvalidProtocolBufferException.class).hasMessageContaining("skip_if_abset");
    assertThatThrownBy(() -> parse(yaml.replace("extensions.filters.http.ratelimit.v3.RateLimit",
        "extensions.filters.http.ratelimit.v3.Ratelimit")))
        .isInstanceOf(InvalidProtocolBufferException.class);
  }

  @Test
  void theFiltersReachMeshguardInTheRightOrder() throws Exception {
    Bootstrap bootstrap = bootstrap();
    HttpConnectionManager hcm = hcm(bootstrap);
    List<HttpFilter> filters = hcm.getHttpFiltersList();
    assertThat(filters.get(0).getTypedConfig().is(ExtAuthz.class)).as("ext_authz first").isTrue();
    assertThat(filters.get(filters.size() - 1).getTypedConfig().is(Router.class)).as("router last").isTrue();

    Map<String, Cluster> clusters = new HashMap<>();
    bootstrap.getStaticResources().getClustersList().forEach(c -> clusters.put(c.getName(), c));
    for (HttpFilter filter : filters) {
      if (!filter.getTypedConfig().is(RateLimit.class)) {
        continue;
      }
      RateLimit rl = filter.getTypedConfig().unpack(RateLimit.class);
      assertThat(rl.getRateLimitService().getTransportApiVersion().name()).isEqualTo("V3");
      Cluster cluster = clusters.get(rl.getRateLimitService().getGrpcService().getEnvoyGrpc().getClusterName());
      assertThat(cluster).as("the cluster of %s", filter.getName()).isNotNull();
      assertThat(cluster.getLoadAssignment().getEndpoints(0).getLbEndpoints(0).getEndpoint().getAddress()
          .getSocketAddress().getPortValue()).isEqualTo(RateLimitOptions.DEFAULT_PORT);
      HttpProtocolOptions protocol = cluster.getTypedExtensionProtocolOptionsOrThrow(
          "envoy.extensions.upstreams.http.v3.HttpProtocolOptions").unpack(HttpProtocolOptions.class);
      assertThat(protocol.getExplicitHttpConfig().hasHttp2ProtocolOptions()).as("gRPC needs HTTP/2").isTrue();
    }
  }

  /**
   * The ext_authz filter as the authz server expects it (extauthz.md §1): gRPC v3 to port 9191
   * over HTTP/2, fail closed, the peer certificate and the JWT payloads included, and the
   * route naming the workload in context_extensions. (One parse test for the whole file lives
   * here; this module cannot see the authz server's constants, so its port is written out.)
   */
  @Test
  void theExtAuthzFilterIsConfiguredAsTheAuthzServerExpects() throws Exception {
    Bootstrap bootstrap = bootstrap();
    HttpConnectionManager hcm = hcm(bootstrap);
    ExtAuthz authz = hcm.getHttpFilters(0).getTypedConfig().unpack(ExtAuthz.class);
    assertThat(authz.getTransportApiVersion().name()).isEqualTo("V3");
    assertThat(authz.getFailureModeAllow()).as("fail closed").isFalse();
    assertThat(authz.getIncludePeerCertificate()).isTrue();
    assertThat(authz.getMetadataContextNamespacesList()).containsExactly("envoy.filters.http.jwt_authn");
    Cluster cluster = bootstrap.getStaticResources().getClustersList().stream()
        .filter(c -> c.getName().equals(authz.getGrpcService().getEnvoyGrpc().getClusterName())).findFirst()
        .orElseThrow();
    assertThat(cluster.getLoadAssignment().getEndpoints(0).getLbEndpoints(0).getEndpoint().getAddress()
        .getSocketAddress().getPortValue()).isEqualTo(9191);
    assertThat(cluster.getTypedExtensionProtocolOptionsOrThrow("envoy.extensions.upstreams.http.v3.HttpProtocolOptions")
        .unpack(HttpProtocolOptions.class).getExplicitHttpConfig().hasHttp2ProtocolOptions()).isTrue();
    Route route = hcm.getRouteConfig().getVirtualHosts(0).getRoutes(0);
    ExtAuthzPerRoute perRoute = route.getTypedPerFilterConfigOrThrow("envoy.filters.http.ext_authz")
        .unpack(ExtAuthzPerRoute.class);
    assertThat(perRoute.getCheckSettings().getContextExtensionsMap()).containsEntry("namespace", "demo");
    assertThat(Files.isDirectory(root().resolve("policies/authz/demo"))).as("the example policies of namespace demo")
        .isTrue();
  }

  @Test
  void everyRouteDescriptorFindsALimitInThePolicies() throws Exception {
    Bootstrap bootstrap = bootstrap();
    HttpConnectionManager hcm = hcm(bootstrap);
    Map<Integer, String> domains = domainsByStage(hcm);
    RateLimitConfig policies = RateLimitConfig.load(List.of(root().resolve("policies/ratelimit")));
    Route route = hcm.getRouteConfig().getVirtualHosts(0).getRoutes(0);
    boolean tenantFromAuthz = false;
    for (io.envoyproxy.envoy.config.route.v3.RateLimit rateLimit : route.getRoute().getRateLimitsList()) {
      String domain = domains.get(rateLimit.getStage().getValue());
      assertThat(domain).as("a filter for stage %s", rateLimit.getStage().getValue()).isNotNull();
      // The descriptor Envoy builds from the actions (Envoy's RateLimitPolicyEntryImpl), with
      // sample values where the request supplies them.
      List<Descriptor.Entry> entries = new ArrayList<>();
      for (Action action : rateLimit.getActionsList()) {
        entries.add(switch (action.getActionSpecifierCase()) {
          case REMOTE_ADDRESS -> new Descriptor.Entry("remote_address", "10.0.0.1");
          case GENERIC_KEY -> new Descriptor.Entry(action.getGenericKey().getDescriptorKey().isEmpty() ? "generic_key"
              : action.getGenericKey().getDescriptorKey(), action.getGenericKey().getDescriptorValue());
          case REQUEST_HEADERS -> new Descriptor.Entry(action.getRequestHeaders().getDescriptorKey(), "alice");
          case METADATA -> {
            var metadata = action.getMetadata();
            assertThat(metadata.getMetadataKey().getKey()).isEqualTo("envoy.filters.http.ext_authz");
            assertThat(metadata.getMetadataKey().getPath(0).getKey()).isEqualTo("tenant");
            assertThat(metadata.getSource().name()).isEqualTo("DYNAMIC");
            tenantFromAuthz = true;
            yield new Descriptor.Entry(metadata.getDescriptorKey(), "free");
          }
          default -> throw new AssertionError("no sample for action " + action);
        });
      }
      Descriptor descriptor = new Descriptor(entries, Descriptor.UNSET);
      assertThat(policies.getLimit(domain, descriptor)).as("a limit for %s in domain %s", entries, domain).isNotNull();
    }
    assertThat(tenantFromAuthz).as("a descriptor fed by the authz server's dynamic metadata").isTrue();
    assertThat(policies.getLimit("tenants", Descriptor.of("tenant", "free")).name()).isEqualTo("free-tier");
  }
}
