package dev.meshguard.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Structured values in an event's object ({@code before}, {@code after}): one written form, chained and read back. */
class AuditValueTest {
  private static final String GENESIS = "0".repeat(64);

  @Test
  void aValueHasOneWrittenForm() {
    AuditValue value = AuditValue.parse("""
        {"b": 1, "a": ["x", true, {"z": null, "y": -2, "x": false}], "c": {"é": "q\\"uote\\n"}}""");
    assertThat(value.toJson()).isEqualTo("{\"a\":[\"x\",true,{\"x\":false,\"y\":-2}],\"b\":1,\"c\":{\"é\":\"q\\\"uote\\n\"}}");
    assertThat(AuditValue.parse(value.toJson())).isEqualTo(value);
    assertThat(new AuditValue.Obj(Map.of("z", new AuditValue.Num(1), "a", new AuditValue.Str("s"))).toJson())
        .isEqualTo("{\"a\":\"s\",\"z\":1}");
    assertThat(AuditValue.parse("null")).isNull();
  }

  @Test
  void whatHasNoSingleWrittenFormIsRefused() {
    assertThatThrownBy(() -> AuditValue.parse("{\"ratio\": 0.8}")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("number 0.8");
    assertThatThrownBy(() -> AuditValue.parse("[1, null]")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("null inside an array");
    assertThatThrownBy(() -> AuditValue.parse("{\"n\": 18446744073709551616}"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> AuditValue.parse("{")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("not JSON");
  }

  @Test
  void beforeAndAfterAreChainedInTheObjectAndReadBack() throws Exception {
    AuditValue before = AuditValue.parse("{\"tenant\":\"acme\",\"limits\":[{\"name\":\"monthly\",\"amount\":10}]}");
    AuditValue after = AuditValue.parse("{\"tenant\":\"acme\",\"limits\":[{\"name\":\"monthly\",\"amount\":20}]}");
    AuditEvent event = new AuditEvent(Instant.parse("2026-05-20T10:00:00Z"), "0190b8a0-0000-7000-8000-000000000001",
        "ratelimit", "quota-change", "replace", new AuditEvent.Subject("spiffe://cluster.local/ns/ops/sa/admin", null,
            "127.0.0.1"),
        new AuditEvent.AuditObject(null, null, null, null, "tenant=acme", null, null, null, before, after), null, null,
        0);
    EventLine.Encoded encoded = EventLine.encode(event, 1, GENESIS);
    byte[] line = Arrays.copyOf(encoded.bytes(), encoded.bytes().length - 1);
    String text = new String(line, StandardCharsets.UTF_8);
    assertThat(text).contains("\"object\":{\"after\":{\"limits\":[{\"amount\":20,\"name\":\"monthly\"}],\"tenant\":\"acme\"},"
        + "\"before\":{\"limits\":[{\"amount\":10,\"name\":\"monthly\"}],\"tenant\":\"acme\"},\"descriptors\":\"tenant=acme\"}");
    assertThat(EventLine.recomputeHash(GENESIS, line)).isEqualTo(encoded.hash());
    AuditEvent read = AuditReader.toEvent(EventLine.parse(line));
    assertThat(read.object()).isEqualTo(event.object());
    assertThat(read.subject()).isEqualTo(event.subject());
  }

  @Test
  void eventsWithoutValuesAreWrittenAsBefore() {
    AuditEvent event = new AuditEvent(Instant.EPOCH, "0190b8a0-0000-7000-8000-000000000002", "ratelimit", "throttle",
        "over_limit", null, new AuditEvent.AuditObject(null, null, null, null, "envoy: k=v", null, null), null, null, 0);
    String text = new String(EventLine.encode(event, 1, GENESIS).bytes(), StandardCharsets.UTF_8);
    assertThat(text).contains("\"object\":{\"descriptors\":\"envoy: k=v\"}");
    assertThat(new AuditValue.Arr(List.of()).toJson()).isEqualTo("[]");
  }
}
