package dev.meshguard.audit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.meshguard.core.time.Clock;
import dev.meshguard.testkit.Await;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A child process appends durable events at full speed and is killed with SIGKILL at a random
 * moment, several times. After each kill the log recovers, verifies, and holds every id the child
 * reported as acknowledged. Five rounds of about a second keep this to seconds; a soak run would
 * use hundreds of rounds (-Dmeshguard.crash.rounds=500).
 */
class AuditCrashIT {
  private static final int ROUNDS = Integer.getInteger("meshguard.crash.rounds", 5);

  @TempDir
  Path dir;

  @Test
  void everyAcknowledgedEventSurvivesSigkill() throws Exception {
    Random random = new Random(42);
    Set<String> acknowledged = ConcurrentHashMap.newKeySet();
    for (int round = 0; round < ROUNDS; round++) {
      Process child = new ProcessBuilder(List.of(javaBinary(), "--enable-native-access=ALL-UNNAMED", "-cp",
          System.getProperty("java.class.path"), CrashingWriter.class.getName(), dir.toString(), "4"))
          .redirectError(ProcessBuilder.Redirect.INHERIT).start();
      Set<String> thisRound = ConcurrentHashMap.newKeySet();
      Thread reader = Thread.ofPlatform().start(() -> readIds(child, thisRound));
      Await.until(Duration.ofSeconds(30), () -> thisRound.size() > 20, () -> "the child acknowledged some events");
      Thread.sleep(random.nextInt(400)); // the random moment of the crash, not a synchronisation
      child.destroyForcibly(); // SIGKILL
      assertThat(child.waitFor(10, TimeUnit.SECONDS)).isTrue();
      reader.join(5000);
      acknowledged.addAll(thisRound);

      // Recovery: opening the log truncates a partial line and continues the chain.
      AuditLog.open(AuditOptions.in(dir), Clock.SYSTEM).close();
      VerifyReport report = AuditVerifier.verifyDirectory(dir);
      assertThat(report.ok()).as("round %d: %s", round, report.render()).isTrue();
      Set<String> inLog = new HashSet<>();
      AuditReader.forEach(Segments.list(dir), stored -> inLog.add(stored.event().id()));
      Set<String> lost = new HashSet<>(acknowledged);
      lost.removeAll(inLog);
      assertThat(lost).as("round %d: acknowledged events missing from the log", round).isEmpty();
    }
    assertThat(acknowledged).hasSizeGreaterThan(ROUNDS * 20);
  }

  private static void readIds(Process child, Set<String> ids) {
    try (BufferedReader in = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = in.readLine()) != null) {
        if (line.length() == 36) {
          ids.add(line);
        }
      }
    } catch (java.io.IOException e) {
      // The child was killed mid-line: what was read before is what was acknowledged.
    }
  }

  private static String javaBinary() {
    return ProcessHandle.current().info().command().orElse("java");
  }
}
