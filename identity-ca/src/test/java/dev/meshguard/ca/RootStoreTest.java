package dev.meshguard.ca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.meshguard.ca.IssueResult.Issued;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.CryptoMode;
import dev.meshguard.core.crypto.KeyAlgorithm;
import dev.meshguard.core.spiffe.SpiffeId;
import dev.meshguard.core.time.ManualClock;
import dev.meshguard.core.tls.PemFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A rotating CA persisted in its directory, restarted with a fake clock: a restart at any step of
 * a rotation rebuilds exactly the state of the run that kept going, and a restart while the
 * process was down across an activation or a drop catches up without an outage.
 */
class RootStoreTest {
  static final String TD = "example.org";
  static final SpiffeId WEB = new SpiffeId(TD, "/ns/default/sa/web");
  static final Instant START = Instant.parse("2026-11-28T08:00:00Z");
  static final Duration MAX_TTL = Duration.ofDays(2);
  static final Duration PERIOD = Duration.ofDays(30);
  static final Duration LEAD = Duration.ofDays(3);
  static final CaOptions CA_OPTIONS = CaOptions.defaults()
      .withTtls(Duration.ofDays(1), MAX_TTL)
      .withCaValidity(Duration.ofDays(120));
  static final RootRotation.Options OPTIONS = RootRotation.Options.DEFAULTS.withPeriods(PERIOD, LEAD);

  static Crypto crypto;

  @TempDir
  Path tmp;

  final ManualClock clock = new ManualClock(START);

  @BeforeAll
  static void install() throws ConfigException {
    crypto = Crypto.install(CryptoMode.DEFAULT);
  }

  Path dir() {
    return tmp.resolve("ca");
  }

  /** What a start of the CA server does with the directory. */
  RootRotation open() throws ConfigException {
    return RootStore.open(crypto, clock, dir(), TD, KeyAlgorithm.DEFAULT, CA_OPTIONS, OPTIONS,
        clock.now().toEpochMilli());
  }

  /** An authority as a restart must rebuild it: the same keys and the same schedule. */
  record Slot(X509Certificate certificate, String kid, Instant publishedAt, Instant activeFrom, Instant retiredAt,
      Instant dropAt) {
    static List<Slot> of(TrustBundle bundle) {
      return bundle.authorities().stream().map(a -> new Slot(a.ca().signingCertificate(), a.jwtKey().keyId(),
          a.publishedAt(), a.activeFrom(), a.retiredAt(), a.dropAt())).toList();
    }
  }

  @Test
  void aRestartAtAnyStepOfTwoRotationsRebuildsTheStateOfTheRunThatKeptGoing() throws Exception {
    RootRotation running = open();
    byte[] csr = Csrs.ecP256().uri(WEB.toString()).der();
    long lastSequence = running.current().sequence();
    List<Issued> leaves = new ArrayList<>();
    int changes = 0;
    // 66 days in two-day steps: two rotations, each published, activated and its old root dropped;
    // every phase (one root, two published, two trusted with the new one signing) is restarted in.
    for (int step = 0; step < 33; step++) {
      clock.advance(Duration.ofDays(2));
      if (running.tick()) {
        changes++;
      }
      clock.advance(Duration.ofSeconds(1)); // a restart takes a moment
      RootRotation restarted = open();
      TrustBundle kept = running.current();
      TrustBundle rebuilt = restarted.current();
      assertThat(Slot.of(rebuilt)).as("step %d", step).isEqualTo(Slot.of(kept));
      assertThat(rebuilt.active().ca().signingCertificate()).isEqualTo(kept.active().ca().signingCertificate());
      assertThat(restarted.nextTransition()).isEqualTo(running.nextTransition());
      assertThat(restarted.signer().signingCertificate()).isEqualTo(running.signer().signingCertificate());
      assertThat(rebuilt.sequence()).as("spiffe_sequence grows across restarts").isGreaterThan(lastSequence);
      lastSequence = rebuilt.sequence();
      assertThat(restarted.tick()).as("nothing was due that the running instance had not done").isFalse();

      // A leaf of the run before the restart verifies against the restarted bundle while it lives.
      leaves.add((Issued) running.issue(csr, WEB, MAX_TTL));
      for (Issued leaf : leaves) {
        if (clock.now().isBefore(leaf.notAfter())) {
          assertThat(RootRotationTest.verifies(leaf.leaf(), rebuilt.x509Authorities(), clock.now()))
              .as("leaf %s at step %d", leaf.serial().toString(16), step).isTrue();
        }
      }
      assertTopLevelMirrors(kept);
    }
    assertThat(changes).as("two publications, activations and drops").isEqualTo(6);
    assertThat(rootDirectories()).as("the first root's directory went with it").containsExactly("3");
  }

  @Test
  void aRestartAfterMissingTheActivationAndTheDropCatchesUp() throws Exception {
    RootRotation first = open();
    X509Certificate oldRoot = first.signer().signingCertificate();
    byte[] csr = Csrs.ecP256().uri(WEB.toString()).der();

    clock.advance(PERIOD.minus(LEAD));
    assertThat(first.tick()).isTrue();
    X509Certificate newRoot = first.current().authorities().get(1).ca().signingCertificate();
    Instant activation = first.current().authorities().get(1).activeFrom();
    assertThat(rootDirectories()).as("published only once on disk").containsExactly("1", "2");

    // The last leaf the old root signs, just before its successor's turn; then the process stops.
    clock.setWallTime(activation.minusSeconds(1));
    Issued lastOld = (Issued) first.issue(csr, WEB, MAX_TTL);
    assertThat(lastOld.chain().getLast()).isEqualTo(oldRoot);

    // Down across the activation: the restart has the new root signing, the old one trusted.
    clock.setWallTime(activation.plus(Duration.ofHours(5)));
    RootRotation second = open();
    assertThat(second.signer().signingCertificate()).isEqualTo(newRoot);
    TrustBundle.Authority retired = second.current().authorities().getFirst();
    assertThat(retired.retiredAt()).as("retired at the activation, not at the restart").isEqualTo(activation);
    assertThat(retired.dropAt()).isEqualTo(activation.plus(MAX_TTL));
    assertThat(RootRotationTest.verifies(lastOld.leaf(), second.current().x509Authorities(), clock.now())).isTrue();
    Issued firstNew = (Issued) second.issue(csr, WEB, MAX_TTL);
    assertThat(firstNew.chain().getLast()).isEqualTo(newRoot);
    assertThat(PemFiles.readCertificates(crypto, dir().resolve(CaDirectory.CA_CERT))).containsExactly(newRoot);
    assertThat(PemFiles.readCertificates(crypto, dir().resolve(CaDirectory.ROOT_CERT))).containsExactly(oldRoot, newRoot);

    // Down again, restarted one second before the old root's last leaf expires: still trusted.
    clock.setWallTime(lastOld.notAfter().minusSeconds(1));
    RootRotation third = open();
    assertThat(third.current().x509Authorities()).containsExactly(oldRoot, newRoot);
    assertThat(RootRotationTest.verifies(lastOld.leaf(), third.current().x509Authorities(), clock.now())).isTrue();

    // And after it: the old root is gone from the bundle, the files and the disk.
    clock.advance(Duration.ofSeconds(2));
    RootRotation fourth = open();
    assertThat(fourth.current().x509Authorities()).containsExactly(newRoot);
    assertThat(rootDirectories()).containsExactly("2");
    assertThat(PemFiles.readCertificates(crypto, dir().resolve(CaDirectory.ROOT_CERT))).containsExactly(newRoot);
    assertThat(RootRotationTest.verifies(firstNew.leaf(), fourth.current().x509Authorities(), clock.now())).isTrue();
    assertThat(fourth.current().active().jwtKey().keyId())
        .as("the JWT key came back from disk").isEqualTo(second.current().active().jwtKey().keyId());
    assertThat(fourth.current().sequence()).isGreaterThan(third.current().sequence());
  }

  @Test
  void keysAreWrittenOwnerOnlyAndAnInterruptedWriteIsRemoved() throws Exception {
    RootRotation rotation = open();
    clock.advance(PERIOD.minus(LEAD));
    rotation.tick();
    for (String key : List.of("roots/1/ca-key.pem", "roots/1/jwt-key.pem", "roots/2/ca-key.pem", "roots/2/jwt-key.pem",
        "ca-key.pem")) {
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir().resolve(key)))).as(key)
          .isEqualTo("rw-------");
    }
    Path interrupted = Files.createDirectories(dir().resolve("roots/.3.tmp"));
    Files.writeString(interrupted.resolve("ca-cert.pem"), "half a root");
    open();
    assertThat(interrupted).doesNotExist();
    assertThat(rootDirectories()).containsExactly("1", "2");
  }

  @Test
  void refusesTopLevelFilesThatAreNotOneOfItsRoots() throws Exception {
    open();
    Path other = tmp.resolve("other");
    CertificateAuthority.init(crypto, clock, other, TD, KeyAlgorithm.DEFAULT, CA_OPTIONS);
    Files.copy(other.resolve(CaDirectory.CA_CERT), dir().resolve(CaDirectory.CA_CERT),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    assertThatThrownBy(this::open).isInstanceOfSatisfying(ConfigException.class, e -> {
      assertThat(e.errors().getFirst().source()).isEqualTo(dir().resolve(CaDirectory.CA_CERT).toString());
      assertThat(e.errors().getFirst().message()).startsWith("is not the certificate of any root in "
          + dir().resolve("roots"));
    });
    assertThatThrownBy(() -> RootStore.open(crypto, clock, other, TD, KeyAlgorithm.DEFAULT, CA_OPTIONS, OPTIONS, 1))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.errors().getFirst().message())
            .isEqualTo("holds a plugged-in CA (no roots/ directory); it is not rotated here"));
  }

  private void assertTopLevelMirrors(TrustBundle bundle) throws ConfigException {
    assertThat(PemFiles.readCertificates(crypto, dir().resolve(CaDirectory.ROOT_CERT)))
        .isEqualTo(bundle.x509Authorities());
    assertThat(PemFiles.readCertificates(crypto, dir().resolve(CaDirectory.CA_CERT)))
        .containsExactly(bundle.active().ca().signingCertificate());
  }

  private List<String> rootDirectories() throws Exception {
    try (Stream<Path> list = Files.list(dir().resolve(RootStore.ROOTS))) {
      return list.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }
}
