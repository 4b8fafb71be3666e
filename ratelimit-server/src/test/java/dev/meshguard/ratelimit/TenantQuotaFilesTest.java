package dev.meshguard.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.meshguard.core.config.ConfigError;
import dev.meshguard.core.config.ConfigException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@code TenantQuota} files: what a valid one means, and golden files of every mistake at once. */
class TenantQuotaFilesTest {

  @Test
  void aFullQuota() throws Exception {
    List<TenantQuota> quotas = TenantQuotaFiles.parse("acme.yaml", """
        apiVersion: meshguard.dev/v1
        kind: TenantQuota
        metadata:
          name: acme
          namespace: billing
          labels: {team: sales}
        spec:
          timeZone: Europe/Berlin
          limits:
            - name: monthly
              period: month
              amount: 1_000_000
            - name: per-second
              window: 1s
              amount: 200
            - name: rolling
              window: 1h
              algorithm: sliding_window
              amount: 50000
              enforcement: soft
        """);
    assertThat(quotas).containsExactly(new TenantQuota("acme", ZoneId.of("Europe/Berlin"), List.of(
        new QuotaLimit("monthly", new QuotaPeriod.Calendar(CalendarUnit.MONTH), 1_000_000, QuotaLimit.Enforcement.HARD),
        new QuotaLimit("per-second", new QuotaPeriod.Window(Algorithm.FIXED_WINDOW, 1), 200,
            QuotaLimit.Enforcement.HARD),
        new QuotaLimit("rolling", new QuotaPeriod.Window(Algorithm.SLIDING_WINDOW, 3600), 50000,
            QuotaLimit.Enforcement.SOFT)), false, TenantQuota.ManagedBy.YAML));
  }

  @Test
  void defaultUnlimitedAndExplicitTenant() throws Exception {
    String header = "apiVersion: meshguard.dev/v1\nkind: TenantQuota\n";
    assertThat(TenantQuotaFiles.parse("d.yaml", header + """
        metadata: {name: trial}
        spec:
          default: true
          limits: [{name: monthly, period: month, amount: 1000}]
        """).getFirst().tenant()).isEqualTo(TenantQuota.DEFAULT_TENANT);
    assertThat(TenantQuotaFiles.parse("u.yaml", header + "metadata: {name: internal}\nspec: {unlimited: true}\n"))
        .containsExactly(TenantQuota.unlimited("internal", TenantQuota.ManagedBy.YAML));
    TenantQuota explicit = TenantQuotaFiles.parse("t.yaml", header + """
        metadata: {name: acme-eu}
        spec:
          tenant: Acme/EU
          limits: [{name: daily, period: day, amount: 10}]
        """).getFirst();
    assertThat(explicit.tenant()).isEqualTo("Acme/EU");
    assertThat(explicit.zone()).isEqualTo(ZoneOffset.UTC);
  }

  @ParameterizedTest
  @ValueSource(strings = {"several_mistakes", "default_with_tenant"})
  void everyMistakeOfAFileAtOnceWithPositions(String name) throws Exception {
    String yaml = resource("quota-errors/" + name + ".yaml");
    String expected = resource("quota-errors/" + name + ".expected");
    assertThatThrownBy(() -> TenantQuotaFiles.parse(name + ".yaml", yaml))
        .isInstanceOf(ConfigException.class)
        .extracting(e -> render(((ConfigException) e).errors()))
        .isEqualTo(expected.strip());
  }

  @Test
  void aTenantDeclaredTwiceIsReportedAtTheSecondFile(@TempDir Path dir) throws Exception {
    String quota = """
        apiVersion: meshguard.dev/v1
        kind: TenantQuota
        metadata:
          name: acme
        spec:
          limits: [{name: monthly, period: month, amount: 10}]
        """;
    Files.writeString(dir.resolve("a.yaml"), quota);
    Files.createDirectories(dir.resolve("more"));
    Files.writeString(dir.resolve("more/b.yml"), quota);
    Files.writeString(dir.resolve("notes.txt"), "not a quota");
    assertThatThrownBy(() -> TenantQuotaFiles.load(dir))
        .isInstanceOf(ConfigException.class)
        .extracting(e -> render(((ConfigException) e).errors()))
        .isEqualTo(dir.resolve("more/b.yml") + ":4:9: metadata.name: tenant 'acme' is declared twice; first at "
            + dir.resolve("a.yaml") + ":4:9");
    Files.delete(dir.resolve("more/b.yml"));
    assertThat(TenantQuotaFiles.load(dir)).extracting(TenantQuota::tenant).containsExactly("acme");
  }

  @Test
  void theExamplesInPoliciesLoad() throws Exception {
    assertThat(TenantQuotaFiles.load(EnvoyDeployConfigTest.root().resolve("policies/quotas"))).extracting(TenantQuota::tenant)
        .containsExactly(TenantQuota.DEFAULT_TENANT, "acme", "internal");
  }

  @Test
  void jsonRoundTrip() throws Exception {
    List<TenantQuota> quotas = TenantQuotaFiles.parse("acme.yaml", """
        apiVersion: meshguard.dev/v1
        kind: TenantQuota
        metadata: {name: acme}
        spec:
          timeZone: America/New_York
          limits:
            - {name: monthly, period: month, amount: 1000000}
            - {name: rolling, window: 1h, algorithm: sliding_window, amount: 5, enforcement: soft}
        """);
    TenantQuota quota = quotas.getFirst();
    assertThat(QuotaJson.write(quota)).isEqualTo("{\"tenant\":\"acme\",\"time_zone\":\"America/New_York\","
        + "\"unlimited\":false,\"managed_by\":\"yaml\",\"limits\":[{\"name\":\"monthly\",\"period\":\"month\","
        + "\"amount\":1000000,\"enforcement\":\"hard\"},{\"name\":\"rolling\",\"algorithm\":\"sliding_window\","
        + "\"window_seconds\":3600,\"amount\":5,\"enforcement\":\"soft\"}]}");
    assertThat(QuotaJson.read(QuotaJson.write(quota))).isEqualTo(quota);
    TenantQuota unlimited = TenantQuota.unlimited("x", TenantQuota.ManagedBy.API);
    assertThat(QuotaJson.read(QuotaJson.write(unlimited))).isEqualTo(unlimited);
    assertThatThrownBy(() -> QuotaJson.read("{\"tenant\":\"x\",\"limits\":[]}"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("not a tenant quota");
  }

  static String render(List<ConfigError> errors) {
    return errors.stream().map(ConfigError::render).collect(Collectors.joining("\n"));
  }

  static String resource(String name) throws IOException {
    try (InputStream in = TenantQuotaFilesTest.class.getClassLoader().getResourceAsStream(name)) {
      if (in == null) {
        throw new IOException("missing test resource " + name);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}
