package dev.meshguard.ratelimit;

import dev.meshguard.core.config.ConfigError;
import dev.meshguard.core.config.Durations;
import dev.meshguard.ratelimit.YamlTree.Entry;
import dev.meshguard.ratelimit.YamlTree.Mapping;
import dev.meshguard.ratelimit.YamlTree.Node;
import dev.meshguard.ratelimit.YamlTree.Null;
import dev.meshguard.ratelimit.YamlTree.Scalar;
import dev.meshguard.ratelimit.YamlTree.Sequence;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Compiles one envoyproxy/ratelimit YAML file into a domain's {@link DescriptorNode} tree,
 * collecting every error with its position and key path instead of stopping at the first
 * (upstream panics at the first). The checks are upstream's ({@code src/config/config_impl.go}):
 * empty domain, empty key, duplicate composite key at one level, invalid unit, unit with
 * {@code unlimited}, empty or self {@code replaces}, unknown keys, lists of non-mappings; plus
 * type checks upstream gets from its YAML decoder, and the checks of our extensions.
 */
final class ConfigCompiler extends YamlFieldReader {

  /**
   * Keys envoyproxy/ratelimit's {@code validKeys} accepts anywhere in a file. Like upstream, a
   * known key in the wrong place is ignored rather than rejected, so configs that load upstream
   * load here.
   */
  private static final Set<String> UPSTREAM_KEYS = Set.of("domain", "key", "value", "descriptors", "rate_limit",
      "unit", "requests_per_unit", "unlimited", "shadow_mode", "name", "replaces", "detailed_metric");

  /** Newer upstream keys whose semantics are not implemented yet: rejected, never silently ignored. */
  private static final Set<String> NOT_YET_SUPPORTED = Set.of("share_threshold", "quota_mode", "value_to_metric",
      "metadata");

  /** Our extensions, valid inside {@code rate_limit} only. */
  private static final Set<String> EXTENSION_KEYS = Set.of("algorithm", "burst", "window");

  /** The domain's part of the stats prefix ({@code domain}), cut from every limit's stats key. */
  private int domainPrefixLength;

  /** The result for one file: the domain (null if missing or empty) and where it was written. */
  record CompiledFile(String domain, int line, int column, DescriptorNode root) {}

  private ConfigCompiler(String source, List<ConfigError> errors) {
    super(source, errors, true);
  }

  static CompiledFile compile(String source, Node root, List<ConfigError> errors) {
    return new ConfigCompiler(source, errors).file(root);
  }

  private CompiledFile file(Node root) {
    if (!(root instanceof Mapping mapping)) {
      error(root, "", "a rate limit config file must be a mapping with 'domain' and 'descriptors'");
      return new CompiledFile(null, root.line(), root.column(), emptyNode(null));
    }
    checkKeys(mapping, "", false);
    Entry domainEntry = entry(mapping, "domain");
    String domain = domainEntry == null ? "" : string(domainEntry.value(), "domain");
    if (domain == null || domain.isEmpty()) {
      errors.add(domainEntry == null
          ? new ConfigError(source, mapping.line(), mapping.column(), "domain", "config file cannot have empty domain")
          : new ConfigError(source, domainEntry.line(), domainEntry.column(), "domain",
              "config file cannot have empty domain"));
      domain = null;
    }
    domainPrefixLength = domain == null ? 0 : domain.length();
    DescriptorNode tree = descriptors(entry(mapping, "descriptors"), "descriptors", null, domain == null ? "" : domain);
    int line = domainEntry == null ? mapping.line() : domainEntry.value().line();
    int column = domainEntry == null ? mapping.column() : domainEntry.value().column();
    return new CompiledFile(domain, line, column, tree);
  }

  /** Compiles the {@code descriptors} list of one level into a node carrying {@code limit}. */
  private DescriptorNode descriptors(Entry entry, String path, RateLimit limit, String statsPrefix) {
    Map<String, Map<String, DescriptorNode>> byKeyValue = new LinkedHashMap<>();
    List<DescriptorNode.Wildcard> wildcards = new ArrayList<>();
    Map<String, DescriptorNode> byKey = new LinkedHashMap<>();
    Map<String, Integer> seen = new HashMap<>();
    List<Node> items = list(entry, path);
    for (int i = 0; i < items.size(); i++) {
      String itemPath = path + "[" + i + "]";
      if (!(items.get(i) instanceof Mapping descriptor)) {
        error(items.get(i), itemPath, "a descriptor must be a mapping (a list of type other than map)");
        continue;
      }
      checkKeys(descriptor, itemPath, false);
      Entry keyEntry = entry(descriptor, "key");
      String key = keyEntry == null ? null : string(keyEntry.value(), itemPath + ".key");
      if (key == null || key.isEmpty()) {
        error(keyEntry == null ? descriptor : keyEntry.value(), itemPath + ".key", "descriptor has empty key");
      }
      Entry valueEntry = entry(descriptor, "value");
      String value = valueEntry == null ? "" : string(valueEntry.value(), itemPath + ".value");
      value = value == null ? "" : value;
      String composite = key + (value.isEmpty() ? "" : "_" + value);
      Integer first = seen.putIfAbsent(key + "\u0000" + value, descriptor.line());
      boolean duplicate = first != null && key != null && !key.isEmpty();
      if (duplicate) {
        error(descriptor, itemPath, "duplicate descriptor composite key '" + statsPrefix + "." + composite
            + "', first defined at line " + first);
      }
      boolean shadowMode = bool(entry(descriptor, "shadow_mode"), itemPath + ".shadow_mode");
      boolean detailedMetric = bool(entry(descriptor, "detailed_metric"), itemPath + ".detailed_metric");
      String statsKey = (statsPrefix + "." + composite).substring(domainPrefixLength + 1);
      RateLimit childLimit = rateLimit(entry(descriptor, "rate_limit"), itemPath + ".rate_limit", shadowMode,
          detailedMetric, statsKey);
      DescriptorNode child = descriptors(entry(descriptor, "descriptors"), itemPath + ".descriptors", childLimit,
          statsPrefix + "." + composite);
      if (key == null || key.isEmpty() || duplicate) {
        continue;
      }
      if (value.isEmpty()) {
        byKey.put(key, child);
      } else {
        byKeyValue.computeIfAbsent(key, k -> new LinkedHashMap<>()).put(value, child);
        if (WildcardPattern.isWildcard(value)) {
          wildcards.add(new DescriptorNode.Wildcard(key, WildcardPattern.compile(value), child));
        }
      }
    }
    return new DescriptorNode(limit, byKeyValue, wildcards, byKey);
  }

  private RateLimit rateLimit(Entry entry, String path, boolean shadowMode, boolean detailedMetric, String statsKey) {
    if (entry == null || entry.value() instanceof Null) {
      return null;
    }
    if (!(entry.value() instanceof Mapping mapping)) {
      error(entry.value(), path, "rate_limit must be a mapping");
      return null;
    }
    checkKeys(mapping, path, true);
    int before = errors.size();
    boolean unlimited = bool(entry(mapping, "unlimited"), path + ".unlimited");
    Entry unitEntry = entry(mapping, "unit");
    String unitText = unitEntry == null ? "" : string(unitEntry.value(), path + ".unit");
    RateLimitUnit unit = unitText == null ? null : RateLimitUnit.parse(unitText);
    Node unitAt = unitEntry == null ? mapping : unitEntry.value();
    if (unlimited && unit != null) {
      error(unitAt, path + ".unit", "should not specify rate limit unit when unlimited");
    } else if (!unlimited && unit == null && unitText != null) {
      error(unitAt, path + ".unit", "invalid rate limit unit '" + unitText + "'; units are second, minute, hour, "
          + "day, week, month, year");
    }
    long requestsPerUnit = integer(entry(mapping, "requests_per_unit"), path + ".requests_per_unit", 0,
        RateLimit.UINT32_MAX);
    Entry nameEntry = entry(mapping, "name");
    String name = nameEntry == null ? "" : string(nameEntry.value(), path + ".name");
    name = name == null ? "" : name;
    List<String> replaces = new ArrayList<>();
    List<Node> replaceItems = list(entry(mapping, "replaces"), path + ".replaces");
    for (int i = 0; i < replaceItems.size(); i++) {
      String itemPath = path + ".replaces[" + i + "]";
      if (!(replaceItems.get(i) instanceof Mapping replace)) {
        error(replaceItems.get(i), itemPath, "a replaces entry must be a mapping with 'name'");
        continue;
      }
      for (Entry e : replace.entries()) {
        if (!e.key().equals("name")) {
          errors.add(new ConfigError(source, e.line(), e.column(), itemPath + "." + e.key(),
              "config error, unknown key '" + e.key() + "'; a replaces entry has only 'name'"));
        }
      }
      Entry replaced = entry(replace, "name");
      String replacedName = replaced == null ? "" : string(replaced.value(), itemPath + ".name");
      if (replacedName == null) {
        continue;
      }
      if (replacedName.isEmpty()) {
        error(replaced == null ? replace : replaced.value(), itemPath + ".name",
            "should not have an empty replaces entry");
      } else if (replacedName.equals(name)) {
        error(replaced.value(), itemPath + ".name", "replaces should not contain name of same descriptor");
      } else {
        replaces.add(replacedName);
      }
    }
    Algorithm algorithm = Algorithm.FIXED_WINDOW;
    Entry algorithmEntry = entry(mapping, "algorithm");
    if (algorithmEntry != null) {
      String text = string(algorithmEntry.value(), path + ".algorithm");
      if (text != null) {
        algorithm = Algorithm.parse(text);
        if (algorithm == null) {
          error(algorithmEntry.value(), path + ".algorithm",
              "unknown algorithm '" + text + "'; algorithms are fixed_window, sliding_window, token_bucket");
          algorithm = Algorithm.FIXED_WINDOW;
        }
      }
    }
    Entry burstEntry = entry(mapping, "burst");
    long burst = integer(burstEntry, path + ".burst", 1, RateLimit.UINT32_MAX);
    if (burstEntry != null && algorithm != Algorithm.TOKEN_BUCKET) {
      error(burstEntry.value(), path + ".burst", "burst applies only to algorithm: token_bucket");
    }
    long windowSeconds = unit == null ? 0 : unit.seconds();
    Entry windowEntry = entry(mapping, "window");
    if (windowEntry != null) {
      String text = string(windowEntry.value(), path + ".window");
      if (text != null) {
        try {
          Duration window = Durations.parse(text);
          if (window.isNegative() || window.isZero() || window.getNano() != 0) {
            error(windowEntry.value(), path + ".window", "window must be a positive whole number of seconds, found "
                + text);
          } else if (unlimited) {
            error(windowEntry.value(), path + ".window", "window has no effect when unlimited");
          } else {
            windowSeconds = window.getSeconds();
          }
        } catch (IllegalArgumentException e) {
          error(windowEntry.value(), path + ".window", "invalid window '" + text + "': " + e.getMessage());
        }
      }
    }
    if (!unlimited && windowSeconds > 0) {
      // The stores' arithmetic is exact only below 2^53 (the Lua script's numbers are doubles).
      Entry at = windowEntry != null ? windowEntry : algorithmEntry;
      if (algorithm == Algorithm.SLIDING_WINDOW
          && windowSeconds * 1000 >= Algorithms.MAX_EXACT / Algorithms.WEIGHT_ONE) {
        error(at.value(), path + (windowEntry != null ? ".window" : ".algorithm"),
            "sliding_window allows windows up to " + (Algorithms.MAX_EXACT / Algorithms.WEIGHT_ONE / 1000 - 1)
                + " s, found " + windowSeconds + " s");
      } else if (algorithm == Algorithm.TOKEN_BUCKET) {
        long capacity = burst > 0 ? burst : requestsPerUnit;
        if (capacity > 0 && windowSeconds * 1000 >= Algorithms.MAX_EXACT / capacity) {
          error(at.value(), path + (windowEntry != null ? ".window" : ".algorithm"),
              "token_bucket needs burst (or requests_per_unit) times the window in milliseconds below 2^53, found "
                  + capacity + " x " + windowSeconds * 1000);
        }
      }
    }
    if (errors.size() > before || !unlimited && unit == null) {
      return null;
    }
    return new RateLimit(name, requestsPerUnit, unlimited ? null : unit, unlimited, shadowMode, replaces, algorithm,
        burst, unlimited ? 0 : windowSeconds, detailedMetric, statsKey);
  }

  private void checkKeys(Mapping mapping, String path, boolean rateLimitLevel) {
    for (Entry e : mapping.entries()) {
      String keyPath = path.isEmpty() ? e.key() : path + "." + e.key();
      if (NOT_YET_SUPPORTED.contains(e.key())) {
        errors.add(new ConfigError(source, e.line(), e.column(), keyPath,
            "'" + e.key() + "' is not supported yet by meshguard"));
      } else if (EXTENSION_KEYS.contains(e.key()) && !rateLimitLevel) {
        errors.add(new ConfigError(source, e.line(), e.column(), keyPath,
            "'" + e.key() + "' belongs inside rate_limit"));
      } else if (!UPSTREAM_KEYS.contains(e.key()) && !EXTENSION_KEYS.contains(e.key())) {
        errors.add(new ConfigError(source, e.line(), e.column(), keyPath, "config error, unknown key '" + e.key() + "'"));
      }
    }
  }

  private List<Node> list(Entry entry, String path) {
    if (entry == null || entry.value() instanceof Null) {
      return List.of();
    }
    if (entry.value() instanceof Sequence sequence) {
      return sequence.items();
    }
    error(entry.value(), path, "must be a list");
    return List.of();
  }

  private long integer(Entry entry, String path, long min, long max) {
    if (entry == null || entry.value() instanceof Null) {
      return 0;
    }
    if (entry.value() instanceof Scalar scalar && !scalar.isBoolean()) {
      try {
        long value = Long.parseLong(scalar.text());
        if (value >= min && value <= max) {
          return value;
        }
      } catch (NumberFormatException e) {
        // reported below
      }
    }
    error(entry.value(), path, "must be an integer between " + min + " and " + max);
    return 0;
  }

  static DescriptorNode emptyNode(RateLimit limit) {
    return new DescriptorNode(limit, Map.of(), List.of(), Map.of());
  }
}
