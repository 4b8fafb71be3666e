package dev.meshguard.core.config;

import java.util.List;
import java.util.Objects;

/**
 * Reads YAML streams and JSON documents into position-carrying {@link YamlNode} trees, for
 * modules that parse formats of their own (Kubernetes-style policy files, Istio's MeshConfig)
 * and want the errors every meshguard configuration gives: {@code file:line:column: path: message}.
 *
 * <p>The trees are what {@link Config} binds from, with the same rules: a syntax error stops the
 * read and is thrown; a repeated mapping key is an error at the repeat (the first occurrence is
 * kept) added to the caller's list, and reading goes on; aliases ({@code *ref}) are kept as
 * {@link YamlNode.Alias} nodes for the caller to refuse or resolve. Scalars carry the type the
 * parser resolved ({@code 8080} is an integer, {@code "8080"} a string), as Kubernetes sees them.
 */
public final class YamlDocuments {

  /** Deeper nesting is refused: no real document needs it, and readers of the tree recurse. */
  public static final int MAX_DEPTH = YamlReader.MAX_DEPTH;

  /** The largest input read, in code points (characters outside the BMP count once). */
  public static final int MAX_CODE_POINTS = YamlReader.MAX_STREAM_CODE_POINTS;

  private YamlDocuments() {}

  /**
   * Reads every document of a YAML stream ({@code ---} separated), in order. An empty document
   * (nothing between two separators, or only comments) is a {@link YamlNode.Null}; input with no
   * document at all gives an empty list.
   *
   * @param source the name errors carry, usually the file path as the user gave it
   * @param errors receives non-fatal errors (repeated keys)
   * @throws ConfigException for a syntax error, input over {@link #MAX_CODE_POINTS}, or nesting
   *     deeper than {@link #MAX_DEPTH}
   */
  public static List<YamlNode> readYaml(String text, String source, List<ConfigError> errors) throws ConfigException {
    Objects.requireNonNull(text, "text");
    Objects.requireNonNull(source, "source");
    Objects.requireNonNull(errors, "errors");
    return YamlReader.readAll(text, source, errors);
  }

  /**
   * Reads one JSON value (RFC 8259, strictly: no comments, no trailing commas, nothing after the
   * value). Empty input is a {@link YamlNode.Null} at 1:1.
   *
   * @param source the name errors carry
   * @param errors receives non-fatal errors (repeated keys)
   * @throws ConfigException for a syntax error or nesting deeper than {@link #MAX_DEPTH}
   */
  public static YamlNode readJson(String text, String source, List<ConfigError> errors) throws ConfigException {
    Objects.requireNonNull(text, "text");
    Objects.requireNonNull(source, "source");
    Objects.requireNonNull(errors, "errors");
    return YamlReader.readJson(text, source, errors);
  }
}
