package dev.meshguard.audit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.meshguard.core.time.ManualClock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class MaskingTest {
  private static final String JWT_SIGNATURE = "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
  private static final String JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0." + JWT_SIGNATURE;

  @TempDir
  Path dir;

  @Test
  void secretHeadersNeverReachAnySegmentByte() throws Exception {
    ManualClock clock = new ManualClock();
    Map<String, String> headers = Map.of(
        "Authorization", "Bearer " + JWT,
        "cookie", "session=cookie-secret-1",
        "set-cookie", "id=cookie-secret-2",
        "proxy-authorization", "Basic cHJveHktc2VjcmV0",
        "x-api-key", "api-key-secret-3",
        "x-forwarded-jwt", JWT,
        "user-agent", "curl/8.0");
    AuditOptions options = AuditOptions.builder(dir)
        .masking(new Masking(Masking.DEFAULT_HEADERS, Set.of("token"), true)).build();
    try (AuditLog log = AuditLog.open(options, clock)) {
      log.append(new AuditEvent(clock.now(), EventIds.next(clock), "authz", "decision", "deny", null,
          new AuditEvent.AuditObject("ns/app", "app", "GET", "/x?token=query-secret-4&page=2", null, null, null,
              headers), null, "jwt " + JWT + " rejected", 1), Durability.DURABLE);
    }
    String all = Files.readString(Segments.list(dir).get(0), StandardCharsets.UTF_8);
    assertThat(all).doesNotContain(JWT_SIGNATURE, "cookie-secret-1", "cookie-secret-2", "cHJveHktc2VjcmV0",
        "api-key-secret-3", "query-secret-4");
    assertThat(all)
        .contains("\"authorization\":\"[masked]\"")
        .contains("\"x-api-key\":\"[masked]\"")
        .contains("\"user-agent\":\"curl/8.0\"")
        .contains("\"path\":\"/x?token=[masked]&page=2\"")
        .contains("\"x-forwarded-jwt\":\"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.[masked]\"");
    assertThat(AuditVerifier.verifyDirectory(dir).ok()).isTrue();
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "/a?token=s&x=1|/a?token=[masked]&x=1",
      "/a?x=1&token=s|/a?x=1&token=[masked]",
      "/a?tokens=s|/a?tokens=s",
      "/a?token|/a?token",
      "/a|/a",
  })
  void masksNamedQueryParameters(String path, String expected) {
    assertThat(new Masking(Set.of(), Set.of("token"), false).maskPath(path)).isEqualTo(expected);
  }

  @Test
  void maskingCanBeNarrowedByConfig() {
    Masking onlyCookies = new Masking(Set.of("Cookie"), Set.of(), false);
    AuditEvent event = new AuditEvent(new ManualClock().now(), "id", "authz", "decision", "allow", null,
        new AuditEvent.AuditObject(null, null, null, null, null, null, null,
            Map.of("cookie", "c", "x-api-key", "k", "x-jwt", JWT)), null, null, 0);
    Map<String, String> masked = onlyCookies.apply(event).object().headers();
    assertThat(masked).containsEntry("cookie", "[masked]").containsEntry("x-api-key", "k").containsEntry("x-jwt", JWT);
  }
}
