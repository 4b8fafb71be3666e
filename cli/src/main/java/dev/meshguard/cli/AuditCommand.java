package dev.meshguard.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.meshguard.audit.AuditEvent;
import dev.meshguard.audit.AuditOptions;
import dev.meshguard.audit.AuditQuery;
import dev.meshguard.audit.AuditReader;
import dev.meshguard.audit.AuditStats;
import dev.meshguard.audit.AuditVerifier;
import dev.meshguard.audit.Checkpoints;
import dev.meshguard.audit.StoredEvent;
import dev.meshguard.audit.VerifyReport;
import dev.meshguard.core.config.Durations;
import dev.meshguard.core.time.Clock;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code meshguard audit ...}: verify, query and summarise audit logs. */
@Command(name = "audit", mixinStandardHelpOptions = true,
    description = "Verify, query and summarise meshguard audit logs.",
    subcommands = {AuditCommand.Verify.class, AuditCommand.Query.class, AuditCommand.Stats.class})
final class AuditCommand implements Runnable {
  @Spec
  private CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  enum Format { TABLE, JSON }

  static final ObjectMapper JSON = JsonMapper.builder()
      .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
      .addModule(new JavaTimeModule())
      .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
      .build();

  /** {@code --since 1h} (relative to now) or {@code --since 2026-11-28T07:00:00Z}. */
  static final class TimeConverter implements ITypeConverter<Instant> {
    @Override
    public Instant convert(String value) {
      try {
        return Instant.parse(value);
      } catch (DateTimeParseException notAnInstant) {
        try {
          return Clock.SYSTEM.now().minus(Durations.parse(value));
        } catch (IllegalArgumentException e) {
          throw new picocli.CommandLine.TypeConversionException("\"" + value
              + "\" is neither an RFC 3339 time nor a duration such as 1h or 30m: " + e.getMessage());
        }
      }
    }
  }

  @Command(name = "verify", mixinStandardHelpOptions = true,
      description = {"Check every chain link and checkpoint signature of an audit log.",
          "Prints OK with counts, or the first broken place, and exits 1."})
  static final class Verify implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Parameters(paramLabel = "PATH", arity = "1..*",
        description = "An audit directory, or segment files in chain order.")
    private List<Path> paths;

    @Option(names = "--public-key", paramLabel = "FILE", description = {
        "The trusted checkpoint public key (PEM). Default: checkpoint-key.pub.pem in the audit directory,",
        "which proves only that the log is consistent with itself; keep a copy elsewhere."})
    private Path publicKey;

    @Override
    public Integer call() throws IOException {
      PublicKey key = publicKey != null ? Checkpoints.readPublicKey(publicKey) : keyBeside(paths);
      VerifyReport report = AuditVerifier.verify(AuditReader.segments(paths), key);
      PrintWriter out = spec.commandLine().getOut();
      out.println(report.render());
      out.flush();
      return report.ok() ? 0 : 1;
    }

    private static PublicKey keyBeside(List<Path> paths) throws IOException {
      Path first = paths.get(0);
      Path dir = Files.isDirectory(first) ? first : first.toAbsolutePath().getParent();
      Path candidate = Checkpoints.publicKeyFile(dir.resolve(AuditOptions.DEFAULT_CHECKPOINT_KEY_FILE));
      return Files.exists(candidate) ? Checkpoints.readPublicKey(candidate) : null;
    }
  }

  /** The paths and filters {@code query} and {@code stats} share. */
  static final class Filters {
    @Parameters(paramLabel = "PATH", arity = "1..*", description = "Audit directories or segment files.")
    List<Path> paths;

    @Option(names = "--since", paramLabel = "TIME", converter = TimeConverter.class,
        description = "Events at or after TIME: a duration back from now (1h, 30m) or an RFC 3339 time.")
    Instant since;

    @Option(names = "--until", paramLabel = "TIME", converter = TimeConverter.class,
        description = "Events before TIME (same forms as --since).")
    Instant until;

    @Option(names = "--component", description = "authz, ratelimit, ca, audit, meshguard.")
    String component;

    @Option(names = "--outcome", description = "allow, deny, over_limit, issued, ...")
    String outcome;

    @Option(names = "--subject", description = "A principal, request principal or source IP.")
    String subject;

    @Option(names = "--policy", description = "The deciding policy, namespace/name.")
    String policy;

    @Option(names = "--path-prefix", paramLabel = "PREFIX", description = "Request paths starting with PREFIX.")
    String pathPrefix;

    /** Calls {@code sink} with every event of {@link #paths} that the filters select, in chain order. */
    void forEachMatch(java.util.function.Consumer<StoredEvent> sink) throws IOException {
      AuditQuery query = new AuditQuery(since, until, component, outcome, subject, policy, pathPrefix);
      AuditReader.forEach(AuditReader.segments(paths), stored -> {
        if (query.test(stored.event())) {
          sink.accept(stored);
        }
      });
    }
  }

  @Command(name = "query", mixinStandardHelpOptions = true, description = "Print the events that match filters.")
  static final class Query implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @picocli.CommandLine.Mixin
    private Filters filters;

    @Option(names = "--format", defaultValue = "table", description = "table (default) or json (one event a line).")
    private Format format;

    @Override
    public Integer call() throws IOException {
      PrintWriter out = spec.commandLine().getOut();
      List<StoredEvent> matches = new ArrayList<>();
      filters.forEachMatch(matches::add);
      if (format == Format.JSON) {
        matches.forEach(m -> out.println(m.line()));
      } else {
        printTable(out, matches);
      }
      out.flush();
      return 0;
    }

    private static void printTable(PrintWriter out, List<StoredEvent> events) {
      List<String[]> rows = new ArrayList<>();
      rows.add(new String[] {"SEQ", "TIME", "COMPONENT", "KIND", "OUTCOME", "SUBJECT", "OBJECT", "POLICY", "REASON"});
      for (StoredEvent stored : events) {
        AuditEvent e = stored.event();
        rows.add(new String[] {Long.toString(stored.seq()), e.time().toString(), e.component(), e.kind(), e.outcome(),
            subject(e), object(e), e.policy() == null ? "-" : orDash(e.policy().name()), orDash(e.reason())});
      }
      Tables.print(out, rows);
      out.println("(" + events.size() + (events.size() == 1 ? " event)" : " events)"));
    }

    private static String subject(AuditEvent e) {
      if (e.subject() == null) {
        return "-";
      }
      List<String> parts = new ArrayList<>();
      if (e.subject().principal() != null) {
        parts.add(e.subject().principal());
      }
      if (e.subject().requestPrincipal() != null) {
        parts.add(e.subject().requestPrincipal());
      }
      if (e.subject().sourceIp() != null) {
        parts.add(e.subject().sourceIp());
      }
      return parts.isEmpty() ? "-" : String.join(" ", parts);
    }

    private static String object(AuditEvent e) {
      AuditEvent.AuditObject o = e.object();
      if (o == null) {
        return "-";
      }
      List<String> parts = new ArrayList<>();
      for (String part : new String[] {o.workload(), o.method(), o.host() == null ? null : o.host() + orEmpty(o.path()),
          o.host() == null ? o.path() : null, o.descriptors(), o.spiffeId(), o.serial() == null ? null
              : "serial " + o.serial()}) {
        if (part != null) {
          parts.add(part);
        }
      }
      return parts.isEmpty() ? "-" : String.join(" ", parts);
    }
  }

  @Command(name = "stats", mixinStandardHelpOptions = true,
      description = "Counts by outcome, the most denied subjects and the most deciding policies.")
  static final class Stats implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @picocli.CommandLine.Mixin
    private Filters filters;

    @Option(names = "--top", defaultValue = "10", description = "How many subjects and policies to list.")
    private int top;

    @Option(names = "--format", defaultValue = "table", description = "table (default) or json.")
    private Format format;

    @Override
    public Integer call() throws IOException {
      AuditStats.Collector collector = new AuditStats.Collector(top);
      filters.forEachMatch(stored -> collector.add(stored.event()));
      AuditStats stats = collector.result();
      PrintWriter out = spec.commandLine().getOut();
      if (format == Format.JSON) {
        out.println(JSON.writeValueAsString(stats));
      } else {
        out.printf("%d events%s%n", stats.events(),
            stats.first() == null ? "" : " from " + stats.first() + " to " + stats.last());
        printCounts(out, "by outcome", stats.byOutcome());
        printCounts(out, "top denied subjects", stats.topDeniedSubjects());
        printCounts(out, "top deciding policies", stats.topPolicies());
      }
      out.flush();
      return 0;
    }

    private static void printCounts(PrintWriter out, String title, Map<String, Long> counts) {
      out.println();
      out.println(title + ":");
      if (counts.isEmpty()) {
        out.println("  (none)");
      }
      counts.entrySet().stream()
          .sorted(Map.Entry.<String, Long>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()))
          .forEach(entry -> out.printf("  %8d  %s%n", entry.getValue(), entry.getKey()));
    }
  }

  static String orDash(String value) {
    return value == null ? "-" : value;
  }

  static String orEmpty(String value) {
    return value == null ? "" : value;
  }
}
