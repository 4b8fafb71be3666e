package dev.meshguard.core.admin;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.CryptoMode;
import dev.meshguard.core.time.Clock;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** In the approved-only fork: the FIPS mode the crypto module runs in is what {@code /status} shows. */
@Tag("fips")
class AdminFipsIT {

  @Test
  void statusShowsFipsModeOn() throws Exception {
    Crypto crypto = Crypto.install(CryptoMode.FIPS);
    assertThat(crypto.isFips()).isTrue();
    try (Metrics metrics = Metrics.create();
        AdminServer admin = AdminServer.start(AdminOptions.DEFAULTS.withPort(0), metrics, "ca", crypto.isFips(),
            Clock.SYSTEM)) {
      HttpResponse<String> response = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(URI.create("http://" + admin.endpoint() + "/status")).build(),
          HttpResponse.BodyHandlers.ofString());
      JsonNode status = new ObjectMapper().readTree(response.body());
      assertThat(status.get("fips_mode").asBoolean()).isTrue();
      assertThat(status.get("component").asText()).isEqualTo("ca");
    }
  }
}
