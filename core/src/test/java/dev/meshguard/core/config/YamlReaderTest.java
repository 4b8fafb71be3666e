package dev.meshguard.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.assertj.core.api.Assertions.tuple;

import dev.meshguard.core.config.YamlNode.Alias;
import dev.meshguard.core.config.YamlNode.Entry;
import dev.meshguard.core.config.YamlNode.Mapping;
import dev.meshguard.core.config.YamlNode.Mark;
import dev.meshguard.core.config.YamlNode.Null;
import dev.meshguard.core.config.YamlNode.Scalar;
import dev.meshguard.core.config.YamlNode.Sequence;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The position-carrying tree; binding is tested through {@link Config}. */
class YamlReaderTest {

  private final List<ConfigError> errors = new ArrayList<>();

  private YamlNode read(String yaml) throws ConfigException {
    return YamlReader.read(yaml, "t.yaml", errors);
  }

  private static Mark at(int line, int column) {
    return new Mark("t.yaml", line, column);
  }

  @Test
  void keepsOrderRawTextAndPositions() throws Exception {
    YamlNode root = read("""
        b: yes
        a:
          - 0777
          - 'quoted'
          -
          - {x: 1.50}
        c: *ref
        """);
    assertThat(root).isEqualTo(new Mapping(List.of(
        new Entry("b", at(1, 1), new Scalar("yes", at(1, 4), Scalar.Type.BOOLEAN)),
        new Entry("a", at(2, 1), new Sequence(List.of(
            new Scalar("0777", at(3, 5), Scalar.Type.INTEGER),
            new Scalar("quoted", at(4, 5)),
            new Null(at(5, 4)),
            new Mapping(List.of(new Entry("x", at(6, 6), new Scalar("1.50", at(6, 9), Scalar.Type.FLOAT))), at(6, 5))), at(3, 3))),
        new Entry("c", at(7, 1), new Alias("ref", at(7, 4)))), at(1, 1)));
    assertThat(errors).isEmpty();
  }

  @Test
  void anEmptyDocumentIsNull() throws Exception {
    assertThat(read("# nothing\n")).isEqualTo(new Null(at(1, 1)));
  }

  @Test
  void aDuplicateKeyIsAnErrorAndTheFirstIsKept() throws Exception {
    YamlNode root = read("a:\n  x: 1\n  y: 2\n  x: 3\n");
    assertThat(root).isInstanceOfSatisfying(Mapping.class, m -> assertThat(m.entries()).singleElement()
        .isInstanceOfSatisfying(Entry.class, a -> assertThat(((Mapping) a.value()).entries())
            .extracting(Entry::key, e -> ((Scalar) e.value()).text())
            .containsExactly(tuple("x", "1"), tuple("y", "2"))));
    assertThat(errors).containsExactly(new ConfigError("t.yaml", 4, 3, "a.x", "duplicate key \"x\", first defined at line 2"));
  }

  @Test
  void aSyntaxErrorThrowsWithItsPosition() {
    ConfigException e = catchThrowableOfType(ConfigException.class, () -> read("a: [1, 2\nb: 3\n"));
    assertThat(e.errors()).extracting(ConfigError::line, ConfigError::column).containsExactly(tuple(2, 2));
    assertThat(e.getCause()).isNotNull();
  }

  @Test
  void aRefusedCharacterIsLocatedByLineAndColumn() {
    ConfigException e = catchThrowableOfType(ConfigException.class, () -> read("a: 1\nb: \uD83D\uDE00 \u0001\n"));
    assertThat(e.errors()).containsExactly(
        new ConfigError("t.yaml", 2, 6, "", "syntax error: special characters are not allowed, found U+0001"));
  }
}
