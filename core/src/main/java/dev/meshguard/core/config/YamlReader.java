package dev.meshguard.core.config;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import dev.meshguard.core.config.YamlNode.Alias;
import dev.meshguard.core.config.YamlNode.Entry;
import dev.meshguard.core.config.YamlNode.Mapping;
import dev.meshguard.core.config.YamlNode.Mark;
import dev.meshguard.core.config.YamlNode.Null;
import dev.meshguard.core.config.YamlNode.Scalar;
import dev.meshguard.core.config.YamlNode.Sequence;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.reader.ReaderException;

/**
 * Reads YAML documents (and JSON) into {@link YamlNode} trees with Jackson's streaming parsers
 * (SnakeYAML's event parser underneath for YAML), which give every token a line and column.
 *
 * <p>A syntax error stops the read: nothing after it can be trusted. A repeated key is only an
 * error, reported at the repeat, and reading goes on so the binder can find the other mistakes;
 * the first occurrence is kept.
 */
final class YamlReader {

  /** Deeper nesting is no real configuration, and the tree and binder recurse. */
  static final int MAX_DEPTH = 64;

  /** SnakeYAML's limit on the document size, in code points. */
  static final int MAX_CODE_POINTS = 4 << 20;

  /** The limit of {@link #readAll} and {@link #readJson}: a stream of many documents may be larger. */
  static final int MAX_STREAM_CODE_POINTS = 32 << 20;

  // The builder, unlike new YAMLFactory(), leaves EMPTY_STRING_AS_NULL off: "key:" must be null.
  private static final YAMLFactory FACTORY = yamlFactory(MAX_CODE_POINTS);

  private static final YAMLFactory STREAM_FACTORY = yamlFactory(MAX_STREAM_CODE_POINTS);

  private static final JsonFactory JSON_FACTORY = JsonFactory.builder()
      .streamReadConstraints(StreamReadConstraints.builder().maxStringLength(MAX_STREAM_CODE_POINTS).build())
      .build();

  private final String source;
  private final List<ConfigError> errors;

  private YamlReader(String source, List<ConfigError> errors) {
    this.source = source;
    this.errors = errors;
  }

  private static YAMLFactory yamlFactory(int codePointLimit) {
    LoaderOptions options = new LoaderOptions();
    options.setCodePointLimit(codePointLimit);
    return YAMLFactory.builder()
        .enable(YAMLParser.Feature.EMPTY_STRING_AS_NULL)
        .loaderOptions(options)
        .build();
  }

  /**
   * Reads {@code yaml}. Returns a {@link Null} at 1:1 for an empty document (or one of only
   * comments). Repeated keys and a second document are added to {@code errors}.
   *
   * @throws ConfigException for a syntax error, or nesting deeper than {@value #MAX_DEPTH}
   */
  static YamlNode read(String yaml, String source, List<ConfigError> errors) throws ConfigException {
    return new YamlReader(source, errors).read(yaml);
  }

  /**
   * Reads every document of a YAML stream ({@code ---} separated), in order. An empty document
   * (nothing between two separators, or only comments) is a {@link Null}; a stream with no
   * document at all gives an empty list. Repeated keys are added to {@code errors}.
   *
   * @throws ConfigException for a syntax error, or nesting deeper than {@value #MAX_DEPTH}
   */
  static List<YamlNode> readAll(String yaml, String source, List<ConfigError> errors) throws ConfigException {
    YamlReader reader = new YamlReader(source, errors);
    try (JsonParser parser = STREAM_FACTORY.createParser(yaml)) {
      List<YamlNode> documents = new ArrayList<>();
      for (JsonToken token = parser.nextToken(); token != null; token = parser.nextToken()) {
        documents.add(reader.node(parser, token, "", 1));
      }
      return documents;
    } catch (JsonProcessingException e) {
      throw new ConfigException(List.of(reader.syntaxError(e, yaml)), e);
    } catch (IOException e) {
      throw new UncheckedIOException(e); // reading a String does no I/O
    }
  }

  /**
   * Reads one JSON value (RFC 8259; no comments, no trailing commas). Numbers and booleans are
   * scalars of their {@link Scalar.Type}. Repeated keys are added to {@code errors}.
   *
   * @throws ConfigException for a syntax error, trailing content, or nesting deeper than
   *     {@value #MAX_DEPTH}
   */
  static YamlNode readJson(String json, String source, List<ConfigError> errors) throws ConfigException {
    YamlReader reader = new YamlReader(source, errors);
    try (JsonParser parser = JSON_FACTORY.createParser(json)) {
      JsonToken token = parser.nextToken();
      if (token == null) {
        return new Null(new Mark(source, 1, 1));
      }
      YamlNode root = reader.node(parser, token, "", 1);
      if (parser.nextToken() != null) {
        throw new ConfigException(reader.mark(parser).error("", "syntax error: only one JSON value is allowed"));
      }
      return root;
    } catch (JsonProcessingException e) {
      throw new ConfigException(List.of(reader.syntaxError(e, json)), e);
    } catch (IOException e) {
      throw new UncheckedIOException(e); // reading a String does no I/O
    }
  }

  private YamlNode read(String yaml) throws ConfigException {
    try (JsonParser parser = FACTORY.createParser(yaml)) {
      JsonToken token = parser.nextToken();
      if (token == null) {
        return new Null(new Mark(source, 1, 1));
      }
      YamlNode root = node(parser, token, "", 1);
      if (parser.nextToken() != null) {
        errors.add(mark(parser).error("", "only one YAML document is allowed; remove the \"---\" separator"));
      }
      return root;
    } catch (JsonProcessingException e) {
      throw new ConfigException(List.of(syntaxError(e, yaml)), e);
    } catch (IOException e) {
      // Reading a String does no I/O; only the parser's own exceptions above are expected.
      throw new UncheckedIOException(e);
    }
  }

  private YamlNode node(JsonParser parser, JsonToken token, String path, int depth)
      throws IOException, ConfigException {
    Mark mark = mark(parser);
    if (depth > MAX_DEPTH) {
      throw new ConfigException(mark.error(path, "nesting is deeper than " + MAX_DEPTH + " levels"));
    }
    return switch (token) {
      case START_OBJECT -> mapping(parser, mark, path, depth);
      case START_ARRAY -> sequence(parser, mark, path, depth);
      case VALUE_NULL -> new Null(mark);
      case VALUE_STRING, VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT, VALUE_TRUE, VALUE_FALSE, VALUE_EMBEDDED_OBJECT -> {
        if (parser instanceof YAMLParser yaml && yaml.isCurrentAlias()) {
          yield new Alias(parser.getText(), mark);
        }
        yield new Scalar(parser.getText(), mark, switch (token) {
          case VALUE_NUMBER_INT -> Scalar.Type.INTEGER;
          case VALUE_NUMBER_FLOAT -> Scalar.Type.FLOAT;
          case VALUE_TRUE, VALUE_FALSE -> Scalar.Type.BOOLEAN;
          default -> Scalar.Type.STRING;
        });
      }
      default -> throw new IllegalStateException("unexpected token " + token + " at " + mark);
    };
  }

  private Mapping mapping(JsonParser parser, Mark mark, String path, int depth)
      throws IOException, ConfigException {
    List<Entry> entries = new ArrayList<>();
    Map<String, Mark> seen = new HashMap<>();
    for (JsonToken token = parser.nextToken(); token != JsonToken.END_OBJECT; token = parser.nextToken()) {
      String key = parser.currentName();
      Mark keyMark = mark(parser);
      String keyPath = KeyNames.child(path, key);
      YamlNode value = node(parser, parser.nextToken(), keyPath, depth + 1);
      Mark first = seen.putIfAbsent(key, keyMark);
      if (first == null) {
        entries.add(new Entry(key, keyMark, value));
      } else {
        errors.add(keyMark.error(keyPath,
            "duplicate key " + KeyNames.quote(key) + ", first defined at line " + first.line()));
      }
    }
    return new Mapping(entries, mark);
  }

  private Sequence sequence(JsonParser parser, Mark mark, String path, int depth)
      throws IOException, ConfigException {
    List<YamlNode> items = new ArrayList<>();
    for (JsonToken token = parser.nextToken(); token != JsonToken.END_ARRAY; token = parser.nextToken()) {
      items.add(node(parser, token, KeyNames.element(path, items.size()), depth + 1));
    }
    return new Sequence(items, mark);
  }

  private Mark mark(JsonParser parser) {
    JsonLocation location = parser.currentTokenLocation();
    return new Mark(source, Math.max(location.getLineNr(), 0), Math.max(location.getColumnNr(), 0));
  }

  /**
   * One line with SnakeYAML's problem and context ({@code expected ',' or ']', but got : (while
   * parsing a flow sequence at line 1, column 4)}) at the problem's position, instead of the
   * multi-line message with source snippets.
   */
  private ConfigError syntaxError(JsonProcessingException e, String yaml) {
    if (e.getCause() instanceof ReaderException reader) {
      // A character SnakeYAML refuses (a control character, a lone surrogate): Jackson's
      // location is the start of the document, SnakeYAML's is a code point index.
      int line = 1;
      int column = 1;
      for (int i = 0, codePoints = 0; i < yaml.length() && codePoints < reader.getPosition(); codePoints++) {
        int c = yaml.codePointAt(i);
        i += Character.charCount(c);
        line += c == '\n' ? 1 : 0;
        column = c == '\n' ? 1 : column + 1;
      }
      String found = Character.isValidCodePoint(reader.getCodePoint())
          ? String.format(Locale.ROOT, ", found U+%04X", reader.getCodePoint()) : "";
      return new ConfigError(source, line, column, "", "syntax error: " + firstLine(reader.getMessage()) + found);
    }
    if (e.getCause() instanceof MarkedYAMLException marked && marked.getProblemMark() != null) {
      StringBuilder message = new StringBuilder(firstLine(marked.getProblem()));
      if (marked.getContext() != null) {
        message.append(" (").append(firstLine(marked.getContext()));
        if (marked.getContextMark() != null) {
          message.append(" at line ").append(marked.getContextMark().getLine() + 1)
              .append(", column ").append(marked.getContextMark().getColumn() + 1);
        }
        message.append(')');
      }
      return new ConfigError(source, marked.getProblemMark().getLine() + 1,
          marked.getProblemMark().getColumn() + 1, "", "syntax error: " + message);
    }
    String message = e.getOriginalMessage();
    if (message != null && message.startsWith("Expected a field name")) {
      // Jackson's text names a SnakeYAML event class; say what it means.
      message = "a mapping key must be a scalar, not a list or mapping";
    } else if (e.getCause() != null && e.getCause().getMessage() != null) {
      message = e.getCause().getMessage();
    }
    JsonLocation location = e.getLocation();
    int line = location == null ? 0 : Math.max(location.getLineNr(), 0);
    int column = location == null ? 0 : Math.max(location.getColumnNr(), 0);
    return new ConfigError(source, line, column, "", "syntax error: " + firstLine(message == null ? "malformed YAML" : message));
  }

  private static String firstLine(String text) {
    int newline = text.indexOf('\n');
    return (newline < 0 ? text : text.substring(0, newline)).strip();
  }
}
