package dev.meshguard.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.meshguard.core.config.YamlNode.Entry;
import dev.meshguard.core.config.YamlNode.Mapping;
import dev.meshguard.core.config.YamlNode.Mark;
import dev.meshguard.core.config.YamlNode.Null;
import dev.meshguard.core.config.YamlNode.Scalar;
import dev.meshguard.core.config.YamlNode.Sequence;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The public reader for YAML streams and JSON documents. */
class YamlDocumentsTest {

  private final List<ConfigError> errors = new ArrayList<>();

  private static Mark at(int line, int column) {
    return new Mark("t", line, column);
  }

  @Test
  void readsEveryDocumentOfAStreamWithPositions() throws Exception {
    List<YamlNode> documents = YamlDocuments.readYaml("""
        a: 1
        ---
        ---
        # only a comment
        ---
        - x
        """, "t", errors);
    assertThat(documents).containsExactly(
        new Mapping(List.of(new Entry("a", at(1, 1), new Scalar("1", at(1, 4), Scalar.Type.INTEGER))), at(1, 1)),
        new Null(at(3, 1)),
        new Null(at(5, 1)),
        new Sequence(List.of(new Scalar("x", at(6, 3))), at(6, 1)));
    assertThat(errors).isEmpty();
  }

  @Test
  void anEmptyStreamHasNoDocuments() throws Exception {
    assertThat(YamlDocuments.readYaml("# nothing\n", "t", errors)).isEmpty();
    assertThat(YamlDocuments.readYaml("", "t", errors)).isEmpty();
  }

  @Test
  void scalarsCarryTheTypeKubernetesWouldSee() throws Exception {
    YamlNode root = YamlDocuments.readYaml("[8080, '8080', 1.5, true, yes, abc]", "t", errors).get(0);
    assertThat(((Sequence) root).items()).extracting(n -> ((Scalar) n).type()).containsExactly(
        Scalar.Type.INTEGER, Scalar.Type.STRING, Scalar.Type.FLOAT, Scalar.Type.BOOLEAN, Scalar.Type.BOOLEAN,
        Scalar.Type.STRING);
  }

  @Test
  void aRepeatedKeyInAnyDocumentIsAnError() throws Exception {
    YamlDocuments.readYaml("a: 1\n---\nb: 1\nb: 2\n", "t", errors);
    assertThat(errors).containsExactly(new ConfigError("t", 4, 1, "b", "duplicate key \"b\", first defined at line 3"));
  }

  @Test
  void aSyntaxErrorInALaterDocumentStopsTheRead() {
    ConfigException e = catchThrowableOfType(ConfigException.class,
        () -> YamlDocuments.readYaml("a: 1\n---\nb: [1\n", "t", errors));
    assertThat(e.errors()).singleElement().satisfies(error -> {
      assertThat(error.line()).isEqualTo(4);
      assertThat(error.message()).startsWith("syntax error: ");
    });
  }

  @Test
  void readsJsonWithTabsAndTypes() throws Exception {
    YamlNode root = YamlDocuments.readJson("{\n\t\"a\": [1, \"1\", false, null]\n}", "t.json", errors);
    assertThat(root).isEqualTo(new Mapping(List.of(new Entry("a", new Mark("t.json", 2, 2), new Sequence(List.of(
        new Scalar("1", new Mark("t.json", 2, 8), Scalar.Type.INTEGER),
        new Scalar("1", new Mark("t.json", 2, 11)),
        new Scalar("false", new Mark("t.json", 2, 16), Scalar.Type.BOOLEAN),
        new Null(new Mark("t.json", 2, 23))), new Mark("t.json", 2, 7)))), new Mark("t.json", 1, 1)));
    assertThat(errors).isEmpty();
  }

  @Test
  void jsonMustBeOneValue() {
    ConfigException e = catchThrowableOfType(ConfigException.class,
        () -> YamlDocuments.readJson("{} {}", "t.json", errors));
    assertThat(e.errors()).containsExactly(new ConfigError("t.json", 1, 4, "", "syntax error: only one JSON value is allowed"));
  }

  @Test
  void aJsonSyntaxErrorHasItsPosition() {
    ConfigException e = catchThrowableOfType(ConfigException.class,
        () -> YamlDocuments.readJson("{\"a\": 1,\n}", "t.json", errors));
    assertThat(e.errors()).singleElement().satisfies(error -> {
      assertThat(error.line()).isEqualTo(2);
      assertThat(error.message()).startsWith("syntax error: ");
    });
  }

  @Test
  void deepNestingIsRefused() {
    String deep = "[".repeat(YamlDocuments.MAX_DEPTH + 1) + "]".repeat(YamlDocuments.MAX_DEPTH + 1);
    assertThat(catchThrowableOfType(ConfigException.class, () -> YamlDocuments.readJson(deep, "t.json", errors))
        .getMessage()).contains("nesting is deeper than " + YamlDocuments.MAX_DEPTH + " levels");
  }
}
