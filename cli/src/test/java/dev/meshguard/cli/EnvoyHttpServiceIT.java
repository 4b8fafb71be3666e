package dev.meshguard.cli;

import static dev.meshguard.cli.PackagedJar.awaitServer;
import static dev.meshguard.cli.PackagedJar.meshguard;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.TypeRegistry;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.ExtAuthz;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code deploy/envoy/envoy-http.yaml} and {@code deploy/envoy/meshguard-http.yaml} fit
 * together: the Envoy file parses into Envoy's Bootstrap proto, and {@code meshguard authz}
 * started with the meshguard file (as a separate process from the packaged jar, with the example
 * policies) answers the check requests Envoy builds from that file's ext_authz
 * {@code http_service} the way Envoy needs: 200 with the headers Envoy copies upstream for a read,
 * 403 with the deny body and the decision id for {@code /admin} and for writes. No Envoy runs
 * here: {@link EnvoyHttpAuthzPeer} builds the requests as Envoy's HTTP ext_authz client does.
 */
class EnvoyHttpServiceIT {
  private static final String FRONTEND = "spiffe://cluster.local/ns/web/sa/frontend";

  static final TypeRegistry TYPES = TypeRegistry.newBuilder()
      .add(HttpConnectionManager.getDescriptor())
      .add(ExtAuthz.getDescriptor())
      .add(Router.getDescriptor())
      .add(DownstreamTlsContext.getDescriptor())
      .build();

  @TempDir
  Path tmp;

  private Process process;

  @AfterEach
  void kill() {
    if (process != null) {
      process.destroyForcibly();
    }
  }

  static Path root() {
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null && !Files.isRegularFile(dir.resolve("deploy/envoy/envoy-http.yaml"))) {
      dir = dir.getParent();
    }
    assertThat(dir).as("deploy/envoy/envoy-http.yaml above %s", Path.of("").toAbsolutePath()).isNotNull();
    return dir;
  }

  static Bootstrap parse(String yaml) throws IOException {
    Bootstrap.Builder bootstrap = Bootstrap.newBuilder();
    JsonFormat.parser().usingTypeRegistry(TYPES)
        .merge(new ObjectMapper().writeValueAsString(new YAMLMapper().readTree(yaml)), bootstrap);
    return bootstrap.build();
  }

  static HttpConnectionManager hcm(Bootstrap bootstrap) throws InvalidProtocolBufferException {
    return bootstrap.getStaticResources().getListeners(0).getFilterChains(0).getFilters(0).getTypedConfig()
        .unpack(HttpConnectionManager.class);
  }

  @Test
  void aMisspeltFieldInTheEnvoyFileFailsTheBuild() throws Exception {
    String yaml = Files.readString(root().resolve("deploy/envoy/envoy-http.yaml"));
    assertThat(yaml).contains("allowed_upstream_headers:");
    assertThatThrownBy(() -> parse(yaml.replace("allowed_upstream_headers:", "allowed_upstream_header:")))
        .isInstanceOf(InvalidProtocolBufferException.class).hasMessageContaining("allowed_upstream_header");
  }

  @Test
  void meshguardAnswersTheChecksEnvoyBuildsFromTheExample() throws Exception {
    Path root = root();
    Bootstrap bootstrap = parse(Files.readString(root.resolve("deploy/envoy/envoy-http.yaml")));
    HttpConnectionManager hcm = hcm(bootstrap);
    assertThat(hcm.getForwardClientCertDetails()).as("XFCC is set by Envoy, never taken from the client")
        .isEqualTo(HttpConnectionManager.ForwardClientCertDetails.SANITIZE_SET);
    assertThat(hcm.getSetCurrentClientCertDetails().getUri()).isTrue();
    ExtAuthz extAuthz = hcm.getHttpFilters(0).getTypedConfig().unpack(ExtAuthz.class);
    assertThat(extAuthz.getFailureModeAllow()).isFalse();
    Cluster cluster = bootstrap.getStaticResources().getClustersList().stream()
        .filter(c -> c.getName().equals(extAuthz.getHttpService().getServerUri().getCluster())).findFirst()
        .orElseThrow(() -> new AssertionError("no cluster " + extAuthz.getHttpService().getServerUri().getCluster()));
    assertThat(cluster.getLoadAssignment().getEndpoints(0).getLbEndpoints(0).getEndpoint().getAddress()
        .getSocketAddress().getPortValue()).as("meshguard's default HTTP authz port").isEqualTo(9192);

    // The example's meshguard side, on free ports instead of the defaults.
    Path log = tmp.resolve("authz.log");
    process = meshguard(log, "authz",
            "--config", root.resolve("deploy/envoy/meshguard-http.yaml").toString(),
            "--policies", root.resolve("policies/authz").toString(),
            "--port", "0", "--http-port", "0", "--admin-port", "0", "--audit-dir", tmp.resolve("audit").toString())
        .start();
    int httpPort = awaitServer(log, "meshguard authz").port("authz", "http");

    EnvoyHttpAuthzPeer envoy = new EnvoyHttpAuthzPeer(extAuthz, "127.0.0.1", httpPort);
    EnvoyHttpAuthzPeer.Downstream frontend = EnvoyHttpAuthzPeer.Downstream.withSvid(FRONTEND);

    EnvoyHttpAuthzPeer.Verdict read = envoy.check(frontend, "GET", "/orders?page=2", Map.of());
    assertThat(read.allowed()).as("a read: %s", read).isTrue();
    assertThat(read.upstreamHeaders()).as("what Envoy copies onto the upstream request")
        .containsEntry("x-meshguard-principal", FRONTEND)
        .containsEntry("x-meshguard-policy", "demo/allow-reads")
        .containsKey("x-meshguard-decision-id");

    EnvoyHttpAuthzPeer.Verdict admin = envoy.check(frontend, "GET", "/admin/users", Map.of());
    assertThat(admin.allowed()).isFalse();
    assertThat(admin.status()).isEqualTo(403);
    assertThat(admin.body()).isEqualTo("RBAC: access denied");
    assertThat(admin.clientHeaders()).containsKey("x-meshguard-decision-id");

    assertThat(envoy.check(frontend, "POST", "/orders", Map.of()).status()).as("only reads are allowed")
        .isEqualTo(403);
    // A client-sent x-forwarded-client-cert never reaches meshguard: Envoy replaces it.
    EnvoyHttpAuthzPeer.Verdict forged = envoy.check(frontend, "GET", "/orders",
        Map.of("x-forwarded-client-cert", "URI=spiffe://cluster.local/ns/prod/sa/admin"));
    assertThat(forged.upstreamHeaders()).containsEntry("x-meshguard-principal", FRONTEND);
  }
}
