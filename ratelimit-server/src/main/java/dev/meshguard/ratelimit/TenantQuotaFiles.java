package dev.meshguard.ratelimit;

import dev.meshguard.core.config.ConfigError;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.config.Durations;
import dev.meshguard.ratelimit.YamlTree.Entry;
import dev.meshguard.ratelimit.YamlTree.Mapping;
import dev.meshguard.ratelimit.YamlTree.Node;
import dev.meshguard.ratelimit.YamlTree.Null;
import dev.meshguard.ratelimit.YamlTree.Scalar;
import dev.meshguard.ratelimit.YamlTree.Sequence;
import java.io.IOException;
import java.nio.charset.MalformedInputException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * Reads {@code TenantQuota} resources: one per file, Kubernetes style, so they can be kept in Git
 * and applied like any resource.
 *
 * <pre>
 * apiVersion: meshguard.dev/v1
 * kind: TenantQuota
 * metadata:
 *   name: acme                 # the tenant (the value of the tenant descriptor entry)
 * spec:
 *   tenant: Acme/EU            # optional: the tenant when it is no valid resource name
 *   default: false             # true: the quota of every tenant without its own (then no tenant)
 *   unlimited: false           # true: no limits for this tenant, not even the default ones
 *   timeZone: Europe/Berlin    # of the calendar periods (IANA name or offset), UTC by default
 *   limits:
 *     - name: monthly          # unique in the quota; names the counter
 *       period: month          # calendar: hour, day, week (from Monday), month, year
 *       amount: 1000000        # hits per period, 0 to 4294967295
 *       enforcement: hard      # hard (default): over is OVER_LIMIT; soft: allowed, reported
 *     - name: per-second
 *       window: 1s             # or a window: whole seconds
 *       algorithm: fixed_window  # fixed_window (default) or sliding_window
 *       amount: 200
 * </pre>
 *
 * <p>Every mistake of every file is reported at once, each with file:line:column and its field
 * path; a tenant declared in two files is reported at the second. {@code metadata} may carry the
 * usual {@code namespace}, {@code labels} and {@code annotations}, which are ignored.
 */
public final class TenantQuotaFiles extends YamlFieldReader {

  public static final String API_VERSION = "meshguard.dev/v1";
  public static final String KIND = "TenantQuota";

  private static final Set<String> TOP_KEYS = Set.of("apiVersion", "kind", "metadata", "spec");
  private static final Set<String> METADATA_KEYS = Set.of("name", "namespace", "labels", "annotations");
  private static final Set<String> SPEC_KEYS = Set.of("tenant", "default", "unlimited", "timeZone", "limits");
  private static final Set<String> LIMIT_KEYS = Set.of("name", "period", "window", "algorithm", "amount",
      "enforcement");


  private TenantQuotaFiles(String source, List<ConfigError> errors) {
    super(source, errors, false);
  }

  /**
   * Loads every {@code *.yaml} and {@code *.yml} file under {@code dir} (recursively, in path
   * order).
   *
   * @throws ConfigException with every error of every file
   */
  public static List<TenantQuota> load(Path dir) throws ConfigException {
    List<ConfigError> errors = new ArrayList<>();
    if (!Files.isDirectory(dir)) {
      throw new ConfigException(new ConfigError(dir.toString(), 0, 0, "", "not a directory"));
    }
    TreeSet<Path> files = new TreeSet<>();
    try (Stream<Path> walk = Files.walk(dir)) {
      walk.filter(Files::isRegularFile)
          .filter(p -> p.getFileName().toString().endsWith(".yaml") || p.getFileName().toString().endsWith(".yml"))
          .forEach(files::add);
    } catch (IOException e) {
      throw new ConfigException(new ConfigError(dir.toString(), 0, 0, "", "cannot read the directory: " + e));
    }
    SequencedMap<String, String> sources = new LinkedHashMap<>();
    for (Path file : files) {
      try {
        if (Files.size(file) > RateLimitConfig.MAX_FILE_BYTES) {
          errors.add(new ConfigError(file.toString(), 0, 0, "", "file is larger than " + RateLimitConfig.MAX_FILE_BYTES
              + " bytes"));
          continue;
        }
        sources.put(file.toString(), Files.readString(file));
      } catch (MalformedInputException e) {
        errors.add(new ConfigError(file.toString(), 0, 0, "", "file is not valid UTF-8"));
      } catch (IOException e) {
        errors.add(new ConfigError(file.toString(), 0, 0, "", "cannot read the file: " + e));
      }
    }
    return parse(sources, errors);
  }

  /** Parses one file's text, named {@code source} in errors. */
  public static List<TenantQuota> parse(String source, String yaml) throws ConfigException {
    SequencedMap<String, String> one = new LinkedHashMap<>();
    one.put(source, yaml);
    return parse(one, new ArrayList<>());
  }

  private static List<TenantQuota> parse(SequencedMap<String, String> sources, List<ConfigError> errors)
      throws ConfigException {
    List<TenantQuota> quotas = new ArrayList<>();
    Map<String, String> declaredAt = new HashMap<>();
    for (Map.Entry<String, String> file : sources.entrySet()) {
      Node root;
      try {
        root = YamlTree.read(file.getValue(), file.getKey(), errors);
      } catch (YamlTree.SyntaxError e) {
        errors.add(e.error());
        continue;
      }
      TenantQuotaFiles reader = new TenantQuotaFiles(file.getKey(), errors);
      Located located = reader.resource(root);
      if (located == null) {
        continue;
      }
      String first = declaredAt.putIfAbsent(located.quota().tenant(), file.getKey() + ":" + located.at().line()
          + ":" + located.at().column());
      if (first != null) {
        reader.error(located.at(), located.path(), located.quota().isDefault()
            ? "a second default quota; the first is at " + first
            : "tenant '" + located.quota().tenant() + "' is declared twice; first at " + first);
        continue;
      }
      quotas.add(located.quota());
    }
    if (!errors.isEmpty()) {
      errors.sort(Comparator.comparing(ConfigError::source).thenComparingInt(ConfigError::line)
          .thenComparingInt(ConfigError::column));
      throw new ConfigException(errors);
    }
    quotas.sort(Comparator.comparing(TenantQuota::tenant));
    return List.copyOf(quotas);
  }

  /** A quota and where its tenant was named. */
  private record Located(TenantQuota quota, Node at, String path) {}

  private Located resource(Node root) {
    if (!(root instanceof Mapping top)) {
      error(root, "", "a TenantQuota file must be a mapping with apiVersion, kind, metadata and spec");
      return null;
    }
    int before = errors.size();
    checkKeys(top, "", TOP_KEYS);
    expect(top, "apiVersion", API_VERSION);
    expect(top, "kind", KIND);
    Entry metadataEntry = entry(top, "metadata");
    String name = null;
    Node nameAt = top;
    if (metadataEntry == null || !(metadataEntry.value() instanceof Mapping metadata)) {
      error(metadataEntry == null ? top : metadataEntry.value(), "metadata", "metadata must be a mapping with a name");
    } else {
      checkKeys(metadata, "metadata", METADATA_KEYS);
      Entry nameEntry = entry(metadata, "name");
      name = nameEntry == null ? null : string(nameEntry.value(), "metadata.name");
      if (name == null || name.isEmpty()) {
        if (nameEntry == null || name != null) {
          error(nameEntry == null ? metadata : nameEntry.value(), "metadata.name", "a TenantQuota needs a name");
        }
        name = null;
      } else {
        nameAt = nameEntry.value();
      }
    }
    Entry specEntry = entry(top, "spec");
    if (specEntry == null || !(specEntry.value() instanceof Mapping spec)) {
      error(specEntry == null ? top : specEntry.value(), "spec", "spec must be a mapping");
      return null;
    }
    checkKeys(spec, "spec", SPEC_KEYS);
    boolean isDefault = bool(entry(spec, "default"), "spec.default");
    boolean unlimited = bool(entry(spec, "unlimited"), "spec.unlimited");
    Entry tenantEntry = entry(spec, "tenant");
    String tenant = name;
    String tenantPath = "metadata.name";
    if (tenantEntry != null) {
      String text = string(tenantEntry.value(), "spec.tenant");
      tenantPath = "spec.tenant";
      nameAt = tenantEntry.value();
      if (isDefault) {
        error(tenantEntry.value(), "spec.tenant", "a default quota applies to every tenant without its own; "
            + "it names no tenant");
      } else if (text != null && text.isEmpty()) {
        error(tenantEntry.value(), "spec.tenant", "tenant must not be empty");
      } else if (TenantQuota.DEFAULT_TENANT.equals(text)) {
        error(tenantEntry.value(), "spec.tenant", "'*' is reserved; write default: true for the default quota");
      } else {
        tenant = text;
      }
    } else if (TenantQuota.DEFAULT_TENANT.equals(name) && !isDefault) {
      error(nameAt, "metadata.name", "'*' is reserved; write default: true for the default quota");
    }
    if (isDefault) {
      tenant = TenantQuota.DEFAULT_TENANT;
      tenantPath = "spec.default";
      nameAt = entry(spec, "default").value();
    }
    ZoneId zone = ZoneOffset.UTC;
    Entry zoneEntry = entry(spec, "timeZone");
    if (zoneEntry != null) {
      String text = string(zoneEntry.value(), "spec.timeZone");
      if (text != null) {
        try {
          zone = ZoneId.of(text);
        } catch (DateTimeException e) {
          error(zoneEntry.value(), "spec.timeZone", "unknown time zone '" + text
              + "'; use an IANA name such as Europe/Berlin, or an offset such as +01:00");
        }
      }
    }
    Entry limitsEntry = entry(spec, "limits");
    List<QuotaLimit> limits = new ArrayList<>();
    if (limitsEntry != null && !(limitsEntry.value() instanceof Null)) {
      if (!(limitsEntry.value() instanceof Sequence sequence)) {
        error(limitsEntry.value(), "spec.limits", "must be a list");
      } else {
        Map<String, Integer> names = new HashMap<>();
        for (int i = 0; i < sequence.items().size(); i++) {
          QuotaLimit limit = limit(sequence.items().get(i), "spec.limits[" + i + "]", names);
          if (limit != null) {
            limits.add(limit);
          }
        }
        if (unlimited && !sequence.items().isEmpty()) {
          error(limitsEntry.value(), "spec.limits", "an unlimited tenant has no limits");
        }
      }
    }
    if (!unlimited && (limitsEntry == null || limitsEntry.value() instanceof Null
        || limitsEntry.value() instanceof Sequence s && s.items().isEmpty())) {
      error(limitsEntry == null ? spec : limitsEntry.value(), "spec.limits",
          "a quota needs at least one limit, or unlimited: true");
    }
    if (errors.size() > before || tenant == null) {
      return null;
    }
    return new Located(new TenantQuota(tenant, zone, limits, unlimited, TenantQuota.ManagedBy.YAML), nameAt,
        tenantPath);
  }

  private QuotaLimit limit(Node node, String path, Map<String, Integer> names) {
    if (!(node instanceof Mapping mapping)) {
      error(node, path, "a limit must be a mapping with name, period or window, and amount");
      return null;
    }
    int before = errors.size();
    checkKeys(mapping, path, LIMIT_KEYS);
    Entry nameEntry = entry(mapping, "name");
    String name = nameEntry == null ? "" : string(nameEntry.value(), path + ".name");
    if (name != null && name.isEmpty()) {
      error(nameEntry == null ? mapping : nameEntry.value(), path + ".name", "a limit needs a name");
    } else if (name != null) {
      Integer first = names.putIfAbsent(name, nameEntry.value().line());
      if (first != null) {
        error(nameEntry.value(), path + ".name", "duplicate limit name '" + name + "', first defined at line " + first);
      }
    }
    Entry periodEntry = entry(mapping, "period");
    Entry windowEntry = entry(mapping, "window");
    Entry algorithmEntry = entry(mapping, "algorithm");
    QuotaPeriod period = null;
    if (periodEntry != null && windowEntry != null) {
      error(windowEntry.value(), path + ".window", "a limit has either a calendar period or a window, not both");
    } else if (periodEntry != null) {
      if (algorithmEntry != null) {
        error(algorithmEntry.value(), path + ".algorithm", "algorithm applies only to a window");
      }
      String text = string(periodEntry.value(), path + ".period");
      CalendarUnit unit = text == null ? null : CalendarUnit.parse(text);
      if (text != null && unit == null) {
        error(periodEntry.value(), path + ".period", "unknown period '" + text
            + "'; periods are hour, day, week, month, year (or a window: 10s, 1m, ...)");
      } else if (unit != null) {
        period = new QuotaPeriod.Calendar(unit);
      }
    } else if (windowEntry != null) {
      Algorithm algorithm = Algorithm.FIXED_WINDOW;
      if (algorithmEntry != null) {
        String text = string(algorithmEntry.value(), path + ".algorithm");
        Algorithm parsed = text == null ? null : Algorithm.parse(text);
        if (text != null && (parsed == null || parsed == Algorithm.TOKEN_BUCKET)) {
          error(algorithmEntry.value(), path + ".algorithm", "unknown quota algorithm '" + text
              + "'; quota algorithms are fixed_window, sliding_window");
        } else if (parsed != null) {
          algorithm = parsed;
        }
      }
      String text = string(windowEntry.value(), path + ".window");
      if (text != null) {
        try {
          Duration window = Durations.parse(text);
          if (window.isNegative() || window.isZero() || window.getNano() != 0
              || window.getSeconds() > QuotaPeriod.Window.MAX_SECONDS) {
            error(windowEntry.value(), path + ".window", "window must be a whole number of seconds from 1 to "
                + QuotaPeriod.Window.MAX_SECONDS + ", found " + text);
          } else {
            period = new QuotaPeriod.Window(algorithm, window.getSeconds());
          }
        } catch (IllegalArgumentException e) {
          error(windowEntry.value(), path + ".window", "invalid window '" + text + "': " + e.getMessage());
        }
      }
    } else {
      error(mapping, path, "a limit needs a calendar period (period: month) or a window (window: 1s)");
    }
    long amount = 0;
    Entry amountEntry = entry(mapping, "amount");
    if (amountEntry == null) {
      error(mapping, path + ".amount", "a limit needs an amount");
    } else {
      amount = integer(amountEntry.value(), path + ".amount", 0, RateLimit.UINT32_MAX);
    }
    QuotaLimit.Enforcement enforcement = QuotaLimit.Enforcement.HARD;
    Entry enforcementEntry = entry(mapping, "enforcement");
    if (enforcementEntry != null) {
      String text = string(enforcementEntry.value(), path + ".enforcement");
      if ("soft".equals(text)) {
        enforcement = QuotaLimit.Enforcement.SOFT;
      } else if (text != null && !"hard".equals(text)) {
        error(enforcementEntry.value(), path + ".enforcement", "enforcement must be hard or soft, found '" + text + "'");
      }
    }
    if (errors.size() > before || name == null || period == null) {
      return null;
    }
    return new QuotaLimit(name, period, amount, enforcement);
  }

  private void expect(Mapping top, String key, String wanted) {
    Entry e = entry(top, key);
    if (e == null) {
      error(top, key, "missing " + key + "; expected " + wanted);
      return;
    }
    String text = string(e.value(), key);
    if (text != null && !text.equals(wanted)) {
      error(e.value(), key, key + " must be " + wanted + ", found '" + text + "'");
    }
  }

  private void checkKeys(Mapping mapping, String path, Set<String> known) {
    for (Entry e : mapping.entries()) {
      if (!known.contains(e.key())) {
        errors.add(new ConfigError(source, e.line(), e.column(), path.isEmpty() ? e.key() : path + "." + e.key(),
            "unknown field '" + e.key() + "'; known fields are " + String.join(", ", new TreeSet<>(known))));
      }
    }
  }

  private long integer(Node node, String path, long min, long max) {
    if (node instanceof Scalar scalar && !scalar.isBoolean()) {
      try {
        long value = Long.parseLong(scalar.text().replace("_", ""));
        if (value >= min && value <= max) {
          return value;
        }
      } catch (NumberFormatException e) {
        // reported below
      }
    }
    error(node, path, "must be an integer between " + min + " and " + max);
    return 0;
  }
}
