package dev.meshguard.audit;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Instant;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.LongRange;

/** The hand-written writer's output is JSON that Jackson reads back to the same values. */
class JsonLineWriterProperties {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Property(tries = 500)
  void anyStringRoundTrips(@ForAll String key, @ForAll String value, @ForAll long number) throws Exception {
    JsonLineWriter writer = new JsonLineWriter();
    writer.startObject();
    writer.field("a", value);
    writer.startObject("b");
    writer.field(key, value);
    writer.endObject();
    writer.field("n", number);
    writer.endObject();
    JsonNode node = JSON.readTree(writer.toByteArray());
    assertThat(node.get("a").asText()).isEqualTo(value);
    assertThat(node.get("b").get(key).asText()).isEqualTo(value);
    assertThat(node.get("n").asLong()).isEqualTo(number);
  }

  @net.jqwik.api.Example
  void unpairedSurrogatesSurviveAsEscapes() throws Exception {
    for (String value : new String[] {"a\uD800", "\uDC00b", "x\uD83D\uDE00y", "\uD83D", "?"}) {
      JsonLineWriter writer = new JsonLineWriter();
      writer.startObject();
      writer.field("s", value);
      writer.endObject();
      assertThat(JSON.readTree(writer.toByteArray()).get("s").asText()).isEqualTo(value);
    }
  }

  @Property(tries = 200)
  void timesAreRfc3339WithNineDigits(@ForAll @LongRange(min = 0, max = 253_402_300_799L) long second,
      @ForAll @LongRange(min = 0, max = 999_999_999) long nanos) throws Exception {
    Instant time = Instant.ofEpochSecond(second, nanos);
    JsonLineWriter writer = new JsonLineWriter();
    writer.startObject();
    writer.field("time", time);
    writer.endObject();
    String text = JSON.readTree(writer.toByteArray()).get("time").asText();
    assertThat(text).matches("\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{9}Z");
    assertThat(Instant.parse(text)).isEqualTo(time);
    assertThat(text).isEqualTo(EventLine.formatTime(time));
  }
}
