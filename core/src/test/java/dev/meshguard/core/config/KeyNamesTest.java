package dev.meshguard.core.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class KeyNamesTest {

  @ParameterizedTest
  @CsvSource({
      "port, port",
      "adminPort, admin_port",
      "maxSegmentBytes, max_segment_bytes",
      "httpURLPath, http_url_path",
      "URL, url",
      "tlsCA, tls_ca",
      "ipv6Enabled, ipv6_enabled",
      "http2, http2",
      "a1B, a1_b",
      "already_snake, already_snake",
  })
  void snakeCase(String component, String key) {
    assertThat(KeyNames.snakeCase(component)).isEqualTo(key);
  }

  @ParameterizedTest
  @CsvSource({
      "admin.port, MESHGUARD_ADMIN_PORT",
      "audit.max_segment_bytes, MESHGUARD_AUDIT_MAX_SEGMENT_BYTES",
      "log, MESHGUARD_LOG",
      "admin.tls.cert_file, MESHGUARD_ADMIN_TLS_CERT_FILE",
  })
  void envName(String path, String env) {
    assertThat(KeyNames.envName(path)).isEqualTo(env);
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "|port|port",
      "admin|port|admin.port",
      "limits|tenant-a|limits.tenant-a",
      "limits|a.b|limits[\"a.b\"]",
      "limits|a b|limits[\"a b\"]",
      "limits|''|limits[\"\"]",
  })
  void childPath(String parent, String key, String path) {
    assertThat(KeyNames.child(parent == null ? "" : parent, key)).isEqualTo(path);
  }

  @ParameterizedTest
  @CsvSource(nullValues = "NONE", value = {
      "prot, port",
      "hots, host",
      "adminPort, admin_port",
      "ADMIN_PORT, admin_port",
      "admin-port, admin_port",
      "timout, timeout",
      "max_segment_byte, max_segment_bytes",
      "tls, NONE",
      "zzz, NONE",
      "porttt, NONE",
      "imeout, timeout",
  })
  void suggestsTheClosestKey(String typo, String suggestion) {
    List<String> allowed = List.of("admin_port", "host", "max_segment_bytes", "port", "timeout");
    assertThat(KeyNames.closest(typo, allowed)).isEqualTo(suggestion);
  }

  @ParameterizedTest
  @CsvSource({
      "abc, abc, 0",
      "abc, acb, 1",
      "abc, ab, 1",
      "kitten, sitting, 3",
      "'', abc, 3",
  })
  void distance(String a, String b, int expected) {
    assertThat(KeyNames.distance(a, b)).isEqualTo(expected);
  }
}
