package dev.meshguard.ratelimit;

import dev.meshguard.core.config.ConfigError;
import dev.meshguard.core.config.ConfigException;
import java.io.IOException;
import java.nio.charset.MalformedInputException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SequencedMap;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * An immutable, indexed snapshot of envoyproxy/ratelimit configuration files: one {@code domain}
 * per file, each compiled into a descriptor tree. Built once per (re)load; the request path only
 * calls {@link #getLimit}, which allocates nothing.
 *
 * <p>Loading reports every mistake of every file at once in one {@link ConfigException}, each
 * with {@code file:line:column}, the key path and upstream's wording where upstream has one.
 */
public final class RateLimitConfig {

  /** Larger files are refused before they are read. */
  public static final long MAX_FILE_BYTES = 4L << 20;

  /** A configuration with no domains: every request gets no limit. */
  public static final RateLimitConfig EMPTY = new RateLimitConfig(Map.of());

  private static final Comparator<ConfigError> BY_POSITION = Comparator
      .comparing(ConfigError::source)
      .thenComparingInt(ConfigError::line)
      .thenComparingInt(ConfigError::column)
      .thenComparing(ConfigError::path)
      .thenComparing(ConfigError::message);

  private final Map<String, DescriptorNode> domains;

  private RateLimitConfig(Map<String, DescriptorNode> domains) {
    this.domains = Map.copyOf(domains);
  }

  /**
   * Loads files and directories. A directory is walked recursively for {@code *.yaml} and
   * {@code *.yml} files; all files are read in path order, so the same inputs always give the
   * same result and the same errors.
   *
   * @throws ConfigException with every error of every file
   */
  public static RateLimitConfig load(List<Path> paths) throws ConfigException {
    List<ConfigError> errors = new ArrayList<>();
    TreeSet<Path> files = new TreeSet<>();
    for (Path path : paths) {
      if (Files.isDirectory(path)) {
        try (Stream<Path> walk = Files.walk(path)) {
          walk.filter(Files::isRegularFile)
              .filter(p -> p.getFileName().toString().endsWith(".yaml") || p.getFileName().toString().endsWith(".yml"))
              .forEach(files::add);
        } catch (IOException e) {
          errors.add(new ConfigError(path.toString(), 0, 0, "", "cannot read the directory: " + e));
        }
      } else {
        files.add(path);
      }
    }
    SequencedMap<String, String> sources = new java.util.LinkedHashMap<>();
    for (Path file : files) {
      String name = file.toString();
      try {
        if (Files.size(file) > MAX_FILE_BYTES) {
          errors.add(new ConfigError(name, 0, 0, "", "file is larger than " + MAX_FILE_BYTES + " bytes"));
          continue;
        }
        sources.put(name, Files.readString(file));
      } catch (NoSuchFileException e) {
        errors.add(new ConfigError(name, 0, 0, "", "file not found"));
      } catch (MalformedInputException e) {
        errors.add(new ConfigError(name, 0, 0, "", "file is not valid UTF-8"));
      } catch (IOException e) {
        errors.add(new ConfigError(name, 0, 0, "", "cannot read the file: " + e));
      }
    }
    return compile(sources, errors);
  }

  /** Parses one file's text, named {@code source} in errors. */
  public static RateLimitConfig parse(String source, String yaml) throws ConfigException {
    return parse(new java.util.LinkedHashMap<>(Map.of(source, yaml)));
  }

  /**
   * Parses several files' texts, by name, in the map's order (which decides which of two files
   * with the same domain is reported as the duplicate).
   */
  public static RateLimitConfig parse(SequencedMap<String, String> yamlBySource) throws ConfigException {
    return compile(yamlBySource, new ArrayList<>());
  }

  private static RateLimitConfig compile(SequencedMap<String, String> sources, List<ConfigError> errors)
      throws ConfigException {
    Map<String, DescriptorNode> domains = new HashMap<>();
    Map<String, ConfigError> domainOrigin = new HashMap<>();
    for (Map.Entry<String, String> file : sources.entrySet()) {
      String source = Objects.requireNonNull(file.getKey(), "source");
      YamlTree.Node root;
      try {
        root = YamlTree.read(Objects.requireNonNull(file.getValue(), "yaml"), source, errors);
      } catch (YamlTree.SyntaxError e) {
        errors.add(e.error());
        continue;
      }
      ConfigCompiler.CompiledFile compiled = ConfigCompiler.compile(source, root, errors);
      if (compiled.domain() == null) {
        continue;
      }
      ConfigError first = domainOrigin.get(compiled.domain());
      if (first != null) {
        errors.add(new ConfigError(source, compiled.line(), compiled.column(), "domain",
            "duplicate domain '" + compiled.domain() + "' in config file, first defined at "
                + first.source() + ":" + first.line() + ":" + first.column()));
        continue;
      }
      domainOrigin.put(compiled.domain(), new ConfigError(source, compiled.line(), compiled.column(), "", ""));
      domains.put(compiled.domain(), compiled.root());
    }
    if (!errors.isEmpty()) {
      errors.sort(BY_POSITION);
      throw new ConfigException(errors);
    }
    return new RateLimitConfig(domains);
  }

  /** The configured domains, sorted. */
  public Set<String> domains() {
    return Collections.unmodifiableSet(new TreeSet<>(domains.keySet()));
  }

  /** True if a file configured {@code domain}. */
  public boolean hasDomain(String domain) {
    return domains.containsKey(domain);
  }

  /**
   * The limit for one request descriptor, found exactly as envoyproxy/ratelimit's
   * {@code GetLimit} ({@code src/config/config_impl.go}) finds it: walk the entries level by
   * level, taking at each level the exact key and value, else the first matching wildcard value
   * in config order, else the key-only entry, with no backtracking; the limit is that of the node
   * the <em>last</em> entry matched, so the request's depth must equal the configured depth.
   *
   * @return the limit, or null for an unknown domain, an empty descriptor or no match
   */
  public RateLimit getLimit(String domain, Descriptor descriptor) {
    DescriptorNode node = domains.get(domain);
    if (node == null) {
      return null;
    }
    List<Descriptor.Entry> entries = descriptor.entries();
    for (int i = 0; i < entries.size(); i++) {
      Descriptor.Entry entry = entries.get(i);
      DescriptorNode next = node.child(entry.key(), entry.value());
      if (next == null) {
        return null;
      }
      if (i == entries.size() - 1) {
        return next.limit();
      }
      if (!next.hasChildren()) {
        return null; // the request is deeper than the config: no parent fallback
      }
      node = next;
    }
    return null;
  }
}
