package dev.meshguard.ratelimit;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import dev.meshguard.core.config.ConfigError;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.error.MarkedYAMLException;

/**
 * A YAML document as a tree whose every node knows its line and column, read with Jackson's
 * streaming YAML parser. A syntax error ends the read (nothing after it can be trusted); a
 * repeated mapping key is an error at the repeat, and reading goes on.
 */
final class YamlTree {

  /** Deeper nesting is no real configuration; the reader and compiler recurse. */
  static final int MAX_DEPTH = 64;

  private static final YAMLFactory FACTORY = YAMLFactory.builder()
      .enable(YAMLParser.Feature.EMPTY_STRING_AS_NULL)
      .loaderOptions(loaderOptions())
      .build();

  private YamlTree() {}

  sealed interface Node {
    int line();

    int column();
  }

  record Mapping(List<Entry> entries, int line, int column) implements Node {
    Mapping {
      entries = List.copyOf(entries);
    }
  }

  record Entry(String key, int line, int column, Node value) {}

  record Sequence(List<Node> items, int line, int column) implements Node {
    Sequence {
      items = List.copyOf(items);
    }
  }

  /** A scalar: its text as written (without quotes), and whether YAML typed it a boolean. */
  record Scalar(String text, boolean isBoolean, int line, int column) implements Node {}

  record Null(int line, int column) implements Node {}

  /** Thrown for a syntax error: the only error that stops reading. */
  static final class SyntaxError extends Exception {
    private static final long serialVersionUID = 1L;
    private final transient ConfigError error;

    SyntaxError(ConfigError error, Throwable cause) {
      super(error.render(), cause);
      this.error = error;
    }

    ConfigError error() {
      return error;
    }
  }

  private static LoaderOptions loaderOptions() {
    LoaderOptions options = new LoaderOptions();
    options.setCodePointLimit(4 << 20);
    return options;
  }

  static Node read(String yaml, String source, List<ConfigError> errors) throws SyntaxError {
    try (JsonParser parser = FACTORY.createParser(yaml)) {
      JsonToken token = parser.nextToken();
      if (token == null) {
        return new Null(1, 1);
      }
      Node root = node(parser, token, source, "", 1, errors);
      if (parser.nextToken() != null) {
        JsonLocation at = parser.currentTokenLocation();
        errors.add(new ConfigError(source, at.getLineNr(), at.getColumnNr(), "",
            "only one YAML document is allowed per file"));
      }
      return root;
    } catch (JsonProcessingException e) {
      throw new SyntaxError(syntaxError(e, source), e);
    } catch (IOException e) {
      throw new UncheckedIOException(e); // reading a String does no I/O
    }
  }

  private static Node node(JsonParser parser, JsonToken token, String source, String path, int depth,
      List<ConfigError> errors) throws IOException, SyntaxError {
    JsonLocation at = parser.currentTokenLocation();
    int line = Math.max(at.getLineNr(), 0);
    int column = Math.max(at.getColumnNr(), 0);
    if (depth > MAX_DEPTH) {
      throw new SyntaxError(new ConfigError(source, line, column, path,
          "nesting is deeper than " + MAX_DEPTH + " levels"), null);
    }
    return switch (token) {
      case START_OBJECT -> {
        List<Entry> entries = new ArrayList<>();
        Map<String, Integer> seen = new HashMap<>();
        for (JsonToken t = parser.nextToken(); t != JsonToken.END_OBJECT; t = parser.nextToken()) {
          String key = parser.currentName();
          JsonLocation keyAt = parser.currentTokenLocation();
          String keyPath = path.isEmpty() ? key : path + "." + key;
          Node value = node(parser, parser.nextToken(), source, keyPath, depth + 1, errors);
          Integer first = seen.putIfAbsent(key, keyAt.getLineNr());
          if (first == null) {
            entries.add(new Entry(key, keyAt.getLineNr(), keyAt.getColumnNr(), value));
          } else {
            errors.add(new ConfigError(source, keyAt.getLineNr(), keyAt.getColumnNr(), keyPath,
                "duplicate key '" + key + "', first defined at line " + first));
          }
        }
        yield new Mapping(entries, line, column);
      }
      case START_ARRAY -> {
        List<Node> items = new ArrayList<>();
        for (JsonToken t = parser.nextToken(); t != JsonToken.END_ARRAY; t = parser.nextToken()) {
          items.add(node(parser, t, source, path + "[" + items.size() + "]", depth + 1, errors));
        }
        yield new Sequence(items, line, column);
      }
      case VALUE_NULL -> new Null(line, column);
      case VALUE_TRUE, VALUE_FALSE -> new Scalar(parser.getText(), true, line, column);
      default -> new Scalar(parser.getText(), false, line, column);
    };
  }

  private static ConfigError syntaxError(JsonProcessingException e, String source) {
    if (e.getCause() instanceof MarkedYAMLException marked && marked.getProblemMark() != null) {
      return new ConfigError(source, marked.getProblemMark().getLine() + 1,
          marked.getProblemMark().getColumn() + 1, "", "syntax error: " + firstLine(marked.getProblem()));
    }
    JsonLocation at = e.getLocation();
    String message = e.getOriginalMessage() == null ? "malformed YAML" : e.getOriginalMessage();
    return new ConfigError(source, at == null ? 0 : Math.max(at.getLineNr(), 0),
        at == null ? 0 : Math.max(at.getColumnNr(), 0), "", "syntax error: " + firstLine(message));
  }

  private static String firstLine(String text) {
    int newline = text.indexOf('\n');
    return (newline < 0 ? text : text.substring(0, newline)).strip();
  }
}
