package dev.meshguard.audit.sink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class CursorFileTest {
  @TempDir
  Path dir;

  @Test
  void noFileMeansNothingAcknowledged() throws Exception {
    assertThat(new CursorFile(dir.resolve("http-sink.cursor")).read()).isEqualTo(OptionalLong.empty());
  }

  @Test
  void writeReplacesThePositionAndLeavesNoTemporaryFile() throws Exception {
    CursorFile cursor = new CursorFile(dir.resolve("http-sink.cursor"));
    cursor.write(7, "0190a1b2-0000-7000-8000-000000000007");
    cursor.write(12, "0190a1b2-0000-7000-8000-00000000000c");

    assertThat(cursor.read()).hasValue(12);
    assertThat(Files.readString(cursor.path()))
        .isEqualTo("{\"id\":\"0190a1b2-0000-7000-8000-00000000000c\",\"seq\":12}\n");
    try (var files = Files.list(dir)) {
      assertThat(files.map(p -> p.getFileName().toString())).containsExactly("http-sink.cursor");
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "garbage", "{\"seq\":\"12\"}", "{\"seq\":-1}", "{\"seq\":1.5}", "[12]",
      "{\"seq\":99999999999999999999999}"})
  void aCursorFileThatHoldsNoPositionStopsTheStartInsteadOfGuessing(String content) throws Exception {
    Path path = dir.resolve("http-sink.cursor");
    Files.writeString(path, content);
    assertThatThrownBy(() -> new CursorFile(path).read())
        .isInstanceOf(IOException.class)
        .hasMessage("the cursor file " + path + " does not hold a position ({\"seq\":<n>,...}); delete it to ship the"
            + " whole log again");
  }
}
