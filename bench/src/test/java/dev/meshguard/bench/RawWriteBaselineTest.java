package dev.meshguard.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.meshguard.core.time.ManualClock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class RawWriteBaselineTest {
  private static final byte[] TEN_LINES = "a\nbb\nccc\nd\ne\nf\ngg\nh\ni\njjjj\n".getBytes(StandardCharsets.UTF_8);

  @TempDir
  Path dir;

  @ParameterizedTest(name = "{0} batches")
  @ValueSource(ints = {1, 3, 7, 10})
  void writesExactlyTheBytesGivenInTheBatchesAsked(int batches) throws Exception {
    Path file = dir.resolve("baseline.jsonl");
    RawWriteBaseline.Result result = RawWriteBaseline.run(TEN_LINES, batches, file, new ManualClock());
    assertThat(Files.readAllBytes(file)).isEqualTo(TEN_LINES);
    assertThat(result.lines()).isEqualTo(10);
    assertThat(result.bytes()).isEqualTo(TEN_LINES.length);
    assertThat(result.batches()).isEqualTo(batches);
  }

  @Test
  void readsALogsSegmentsInChainOrderAndNothingElse() throws Exception {
    Files.writeString(dir.resolve("audit-00000000000000000003.jsonl"), "third\n");
    Files.writeString(dir.resolve("audit-00000000000000000001.jsonl"), "first\nsecond\n");
    Files.writeString(dir.resolve("checkpoint-key.pem"), "not a segment\n");
    assertThat(new String(RawWriteBaseline.readLog(dir), StandardCharsets.UTF_8)).isEqualTo("first\nsecond\nthird\n");
  }

  @Test
  void refusesMoreBatchesThanLines() {
    assertThatThrownBy(() -> RawWriteBaseline.run(TEN_LINES, 11, dir.resolve("b"), new ManualClock()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("batches must be between 1 and the 10 lines, found 11");
  }

  @Test
  void refusesAPartialLastLine() {
    assertThatThrownBy(() -> RawWriteBaseline.run("a\nb".getBytes(StandardCharsets.UTF_8), 1, dir.resolve("b"),
        new ManualClock()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("the log must be whole lines, each ending in \\n");
  }
}
