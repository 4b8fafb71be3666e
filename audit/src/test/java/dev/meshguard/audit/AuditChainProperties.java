package dev.meshguard.audit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.meshguard.core.time.ManualClock;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterTry;
import net.jqwik.api.lifecycle.BeforeTry;

/**
 * For any sequence of events, verify passes; any single edit, deletion, insertion, reorder or
 * mid-line truncation of a segment is detected and located at the damaged line.
 *
 * <p>Cutting the newest segment exactly at a line boundary removes whole events from the end,
 * which no hash chain can notice by itself: that needs a checkpoint held elsewhere (the HTTP
 * sink ships them off the machine). README says so.
 */
class AuditChainProperties {
  private Path dir;

  @BeforeTry
  void createDir() throws IOException {
    dir = Files.createTempDirectory("audit-prop");
  }

  @AfterTry
  void deleteDir() throws IOException {
    try (var paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> {
        try {
          Files.delete(p);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    }
  }

  record Spec(String outcome, String path, String reason, long latency) {}

  @Provide
  Arbitrary<List<Spec>> events() {
    Arbitrary<String> outcomes = Arbitraries.of("allow", "deny", "over_limit", "issued");
    Arbitrary<String> paths = Arbitraries.strings().withCharRange(' ', '~').withChars('é', '漢', '\n', '"', '\\')
        .ofMaxLength(40).map(s -> "/" + s);
    Arbitrary<String> reasons = Arbitraries.strings().ofMaxLength(30).injectNull(0.3);
    Arbitrary<Long> latencies = Arbitraries.longs().between(0, 10_000_000);
    return Combinators.combine(outcomes, paths, reasons, latencies).as(Spec::new).list().ofMinSize(1).ofMaxSize(40);
  }

  enum Damage { EDIT, DELETE, INSERT, SWAP, TRUNCATE }

  private List<String> write(List<Spec> specs) throws IOException {
    ManualClock clock = new ManualClock();
    AuditOptions options = AuditOptions.builder(dir).checkpointInterval(Duration.ofHours(1)).build();
    try (AuditLog log = AuditLog.open(options, clock)) {
      for (Spec spec : specs) {
        clock.advance(Duration.ofNanos(1_234_567));
        log.append(new AuditEvent(clock.now(), EventIds.next(clock), "authz", "decision", spec.outcome(), null,
            new AuditEvent.AuditObject(null, null, "GET", spec.path(), null, null, null), null, spec.reason(),
            spec.latency()), Durability.BUFFERED);
      }
    }
    return Files.readAllLines(segment(), StandardCharsets.UTF_8);
  }

  private Path segment() throws IOException {
    return Segments.list(dir).get(0);
  }

  @Property(tries = 30)
  void anyIntactLogVerifies(@ForAll("events") List<Spec> specs) throws IOException {
    write(specs);
    VerifyReport report = AuditVerifier.verifyDirectory(dir);
    assertThat(report.ok()).as(report.render()).isTrue();
    assertThat(report.events()).isEqualTo(specs.size() + 1); // + the closing checkpoint
  }

  @Property(tries = 100)
  void anySingleDamageIsDetectedAndLocated(@ForAll("events") List<Spec> specs, @ForAll Damage damage,
      @ForAll("fractions") double where, @ForAll("fractions") double what) throws IOException {
    List<String> lines = new ArrayList<>(write(specs));
    int n = lines.size();
    int at = Math.min(n - 1, (int) (where * n));
    int expectedLine;
    switch (damage) {
      case EDIT -> {
        String line = lines.get(at);
        int pos = Math.min(line.length() - 1, (int) (what * line.length()));
        char replacement = line.charAt(pos) == 'x' ? 'y' : 'x';
        lines.set(at, line.substring(0, pos) + replacement + line.substring(pos + 1));
        expectedLine = at + 1;
      }
      case DELETE -> {
        if (n < 2) {
          return; // deleting the only line empties the log: nothing left to locate
        }
        lines.remove(at);
        expectedLine = at + 1;
        if (at == n - 1) {
          return; // removing the last line is tail truncation at a boundary (see class comment)
        }
      }
      case INSERT -> {
        int copyOf = Math.min(n - 1, (int) (what * n));
        lines.add(at, lines.get(copyOf));
        // A copy of line "at" put before it reads as the same file as one put after it.
        expectedLine = copyOf == at ? at + 2 : at + 1;
      }
      case SWAP -> {
        if (n < 2) {
          return;
        }
        int first = Math.min(at, n - 2);
        String tmp = lines.get(first);
        lines.set(first, lines.get(first + 1));
        lines.set(first + 1, tmp);
        expectedLine = first + 1;
      }
      case TRUNCATE -> {
        String line = lines.get(at);
        int keep = Math.max(1, Math.min(line.length() - 1, (int) (what * line.length()))); // mid-line
        lines = new ArrayList<>(lines.subList(0, at));
        lines.add(line.substring(0, keep) + "\u0000"); // marker: written without a newline below
        expectedLine = at + 1;
      }
      default -> throw new AssertionError(damage);
    }
    StringBuilder text = new StringBuilder();
    for (String line : lines) {
      text.append(line.endsWith("\u0000") ? line.substring(0, line.length() - 1) : line + "\n");
    }
    Files.writeString(segment(), text.toString(), StandardCharsets.UTF_8);
    VerifyReport report = AuditVerifier.verifyDirectory(dir);
    assertThat(report.ok()).as("%s at line %d must be detected", damage, expectedLine).isFalse();
    assertThat(report.problem().line()).as(report.render()).isEqualTo(expectedLine);
  }

  @Provide
  Arbitrary<Double> fractions() {
    return Arbitraries.doubles().between(0, 0.999).ofScale(3);
  }
}
