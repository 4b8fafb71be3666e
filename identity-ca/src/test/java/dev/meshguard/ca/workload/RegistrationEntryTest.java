package dev.meshguard.ca.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.meshguard.core.config.Config;
import dev.meshguard.core.config.ConfigException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RegistrationEntryTest {
  static final String WEB = "spiffe://example.org/ns/default/sa/web";

  @TempDir
  Path dir;

  /** The workload_api section as the CA's config file would hold it. */
  record CaFile(WorkloadApiOptions workloadApi) {
    static final CaFile DEFAULTS = new CaFile(WorkloadApiOptions.DEFAULTS);
  }

  @Test
  void parsesTheFlagForm() {
    RegistrationEntry entry = RegistrationEntry.parse("uid:1001,gid:50=" + WEB);
    assertThat(entry.selectors()).containsExactly(Map.entry("gid", 50L), Map.entry("uid", 1001L));
    assertThat(entry.id().toString()).isEqualTo(WEB);
    assertThat(entry).hasToString("gid:50,uid:1001=" + WEB);
    assertThat(RegistrationEntry.parse(entry.toString())).isEqualTo(entry);
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
    "spiffe://example.org/web                 | is not SELECTORS=SPIFFE_ID",
    "uid=spiffe://example.org/web             | selector \"uid\" is not NAME:NUMBER",
    "uid:x=spiffe://example.org/web           | selector \"uid:x\" has no number after the colon",
    "uid:1,uid:2=spiffe://example.org/web     | selector uid is given twice",
    "user:1=spiffe://example.org/web          | unknown selector \"user\"; use uid, gid or pid",
    "uid:-1=spiffe://example.org/web          | selector uid must be a number from 0 to 4294967295, found -1",
    "uid:1=spiffe://example.org               | has no path",
    "uid:1=spiffe://Example.org/web           | is not a SPIFFE ID",
    "uid:1=https://example.org/web            | is not a SPIFFE ID",
  })
  void refusesMalformedEntriesSayingWhy(String text, String message) {
    assertThatThrownBy(() -> RegistrationEntry.parse(text))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(message);
  }

  @Test
  void matchesOnlyWhenEverySelectorMatches() {
    RegistrationEntry entry = RegistrationEntry.parse("uid:1001,gid:50=" + WEB);
    assertThat(entry.matches(new CallerCredentials(1001, 50, 7))).isTrue();
    assertThat(entry.matches(new CallerCredentials(1001, 51, 7))).isFalse();
    assertThat(entry.matches(new CallerCredentials(1000, 50, 7))).isFalse();
    assertThat(CallerCredentials.of(-2, 0, 1).uid()).as("unsigned 32-bit ids").isEqualTo(4294967294L);
  }

  @Test
  void bindsFromTheConfigFile() throws Exception {
    Path file = Files.writeString(dir.resolve("ca.yaml"), """
        workload_api:
          socket: run/agent.sock
          socket_mode: "0660"
          svid_ttl: 30m
          entries:
            - spiffe_id: spiffe://example.org/ns/default/sa/web
              selectors: {uid: 1001}
            - spiffe_id: spiffe://example.org/ns/default/sa/db
              selectors: {uid: 999, gid: 999}
        """);
    WorkloadApiOptions options = Config.load(file, CaFile.DEFAULTS, Map.of(), Map.of()).workloadApi();
    assertThat(options.socket()).isEqualTo(dir.resolve("run/agent.sock"));
    assertThat(options.svidTtl()).isEqualTo(Duration.ofMinutes(30));
    assertThat(options.jwtSvidTtl()).isEqualTo(WorkloadApiOptions.DEFAULT_JWT_SVID_TTL);
    assertThat(options.entries()).containsExactly(
        RegistrationEntry.parse("uid:1001=" + WEB),
        RegistrationEntry.parse("uid:999,gid:999=spiffe://example.org/ns/default/sa/db"));
  }

  @Test
  void configMistakesAreReportedWithTheirPositions() throws Exception {
    Path file = Files.writeString(dir.resolve("ca.yaml"), """
        workload_api:
          entries:
            - spiffe_id: spiffe://example.org
              selectors: {uid: 1}
            - selectors: {uid: 2}
        """);
    assertThatThrownBy(() -> Config.load(file, CaFile.DEFAULTS, Map.of(), Map.of()))
        .isInstanceOf(ConfigException.class)
        .satisfies(e -> assertThat(((ConfigException) e).errors()).extracting(error -> error.render()).containsExactly(
            file + ":3:7: workload_api.entries[0]: spiffe_id spiffe://example.org has no path; a workload's SPIFFE ID has one",
            file + ":5:7: workload_api.entries[1]: missing required key \"spiffe_id\""));

    Path mode = Files.writeString(dir.resolve("mode.yaml"), """
        workload_api:
          socket_mode: "999"
        """);
    assertThatThrownBy(() -> Config.load(mode, CaFile.DEFAULTS, Map.of(), Map.of()))
        .hasMessage(mode + ":2:3: workload_api: socket_mode must be three or four octal digits such as 0666, found \"999\"");
  }
}
