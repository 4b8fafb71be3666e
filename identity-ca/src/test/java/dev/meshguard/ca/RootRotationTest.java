package dev.meshguard.ca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.meshguard.ca.IssueResult.Issued;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.CryptoMode;
import dev.meshguard.core.crypto.KeyAlgorithm;
import dev.meshguard.core.spiffe.SpiffeId;
import dev.meshguard.core.time.ManualClock;
import java.security.GeneralSecurityException;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Root rotation with a fake clock: a new root is published well before it signs, both roots are
 * trusted while the old one's leaves live, and the old root leaves the bundle only after every
 * leaf it signed has expired. Leaves are checked by RFC 5280 path validation (the JDK's PKIX
 * validator) against the bundle of the moment, at the fake clock's time.
 */
class RootRotationTest {
  static final String TD = "example.org";
  static final SpiffeId WEB = new SpiffeId(TD, "/ns/default/sa/web");
  static final Instant START = Instant.parse("2026-11-28T08:00:00Z");
  static final Duration MAX_TTL = Duration.ofDays(2);
  static final Duration PERIOD = Duration.ofDays(30);
  static final Duration LEAD = Duration.ofDays(3);
  static final CaOptions CA_OPTIONS = CaOptions.defaults()
      .withTtls(Duration.ofDays(1), MAX_TTL)
      .withCaValidity(Duration.ofDays(120));

  static Crypto crypto;

  final ManualClock clock = new ManualClock(START);

  @BeforeAll
  static void install() throws ConfigException {
    crypto = Crypto.install(CryptoMode.DEFAULT);
  }

  RootRotation rotating(RootRotation.Options options) throws ConfigException {
    CertificateAuthority first = CertificateAuthority.selfSigned(crypto, clock, TD, KeyAlgorithm.DEFAULT, CA_OPTIONS);
    return RootRotation.rotating(crypto, clock, first, options,
        () -> CertificateAuthority.selfSigned(crypto, clock, TD, KeyAlgorithm.DEFAULT, CA_OPTIONS));
  }

  record Leaf(X509Certificate certificate, X509Certificate root, Instant issuedAt) {}

  @Test
  void fullRotationKeepsEveryLiveLeafVerifyingAgainstTheBundleAtEveryStep() throws Exception {
    RootRotation rotation = rotating(RootRotation.Options.DEFAULTS.withPeriods(PERIOD, LEAD));
    byte[] csr = Csrs.ecP256().uri(WEB.toString()).der();
    List<Leaf> leaves = new ArrayList<>();
    Map<X509Certificate, Instant> publishedAt = new HashMap<>();
    Set<X509Certificate> everSeen = new HashSet<>();
    int overlapSteps = 0;
    long sequence = rotation.current().sequence();
    Set<Integer> bundleSizes = new HashSet<>();
    X509Certificate initialRoot = rotation.signer().signingCertificate();

    // 80 days in 12-hour steps: two rotations (days ~30 and ~60), each with its drop.
    for (int step = 0; step <= 80 * 2; step++) {
      if (step > 0) {
        clock.advance(Duration.ofHours(12));
      }
      boolean changed = rotation.tick();
      Instant now = clock.now();
      TrustBundle bundle = rotation.current();
      assertThat(bundle.sequence()).as("sequence moves exactly when the bundle changes")
          .isEqualTo(changed ? Math.max(sequence + 1, bundle.sequence()) : sequence);
      assertThat(bundle.sequence()).isGreaterThanOrEqualTo(sequence);
      sequence = bundle.sequence();
      List<X509Certificate> roots = bundle.x509Authorities();
      bundleSizes.add(roots.size());
      for (X509Certificate root : roots) {
        publishedAt.putIfAbsent(root, now);
        everSeen.add(root);
      }
      for (X509Certificate gone : everSeen) {
        if (!roots.contains(gone)) {
          assertThat(publishedAt).as("a root never comes back").containsKey(gone);
        }
      }

      // Issue at the longest TTL allowed: the leaf that lives longest after its root retires.
      Issued issued = (Issued) rotation.issue(csr, WEB, MAX_TTL);
      X509Certificate signer = issued.chain().get(issued.chain().size() - 1);
      if (!signer.equals(initialRoot)) {
        assertThat(Duration.between(publishedAt.get(signer), now))
            .as("a rotated root was published at least the lead time before it signed")
            .isGreaterThanOrEqualTo(LEAD);
      }
      leaves.add(new Leaf(issued.leaf(), signer, now));

      // The leaves most at risk: the oldest one alive, and the newest of each root (an old root's
      // last leaf outlives all its others; a new root's newest is the one just issued).
      List<Leaf> live = leaves.stream().filter(l -> now.isBefore(l.certificate().getNotAfter().toInstant())).toList();
      Map<X509Certificate, Leaf> newestByRoot = new HashMap<>();
      live.forEach(l -> newestByRoot.put(l.root(), l));
      Set<Leaf> checked = new HashSet<>(newestByRoot.values());
      checked.add(live.get(0));
      for (Leaf leaf : checked) {
        assertThat(verifies(leaf.certificate(), roots, now))
            .as("leaf issued at %s by %s verifies at %s", leaf.issuedAt(), leaf.root().getSubjectX500Principal(), now)
            .isTrue();
      }
      Set<X509Certificate> liveRoots = newestByRoot.keySet();
      if (liveRoots.size() == 2) {
        overlapSteps++;
      }
    }

    Set<X509Certificate> signers = leaves.stream().map(Leaf::root).collect(Collectors.toSet());
    assertThat(signers).as("three roots signed in turn").hasSize(3);
    assertThat(bundleSizes).as("one root, then two during each overlap").containsExactlyInAnyOrder(1, 2);
    // Each overlap lasts maxTtl (2 days = 4 steps) after activation: old and new leaves both live.
    assertThat(overlapSteps).isGreaterThanOrEqualTo(2 * 3);
    X509Certificate first = leaves.get(0).root();
    assertThat(rotation.current().x509Authorities()).as("the first root has left the bundle").doesNotContain(first);
  }

  @Test
  void theOldRootLeavesOnlyAfterItsLastLeafExpiredAndNotBefore() throws Exception {
    RootRotation rotation = rotating(RootRotation.Options.DEFAULTS.withPeriods(PERIOD, LEAD));
    X509Certificate first = rotation.signer().signingCertificate();
    byte[] csr = Csrs.ecP256().uri(WEB.toString()).der();

    clock.advance(PERIOD.minus(LEAD));
    assertThat(rotation.tick()).isTrue();
    assertThat(rotation.current().x509Authorities()).hasSize(2);
    assertThat(rotation.signer().signingCertificate()).as("published, not yet signing").isEqualTo(first);
    // Its turn would start a period after the first root's notBefore; the lead time moves it to now + lead.
    assertThat(rotation.nextTransition()).isEqualTo(clock.now().plus(LEAD));

    clock.advance(LEAD);
    assertThat(rotation.tick()).isTrue();
    assertThat(rotation.signer().signingCertificate()).isNotEqualTo(first);
    TrustBundle.Authority retired = rotation.current().authorities().get(0);
    assertThat(retired.ca().signingCertificate()).isEqualTo(first);
    assertThat(retired.dropAt()).isEqualTo(retired.retiredAt().plus(MAX_TTL));

    // The last leaf the old root may have signed, just before it retired, lives until dropAt.
    clock.advance(MAX_TTL.minusSeconds(1));
    rotation.tick();
    assertThat(rotation.current().x509Authorities()).contains(first);
    clock.advance(Duration.ofSeconds(1));
    assertThat(rotation.tick()).isTrue();
    assertThat(rotation.current().x509Authorities()).doesNotContain(first).hasSize(1);
    Issued leaf = (Issued) rotation.issue(csr, WEB, MAX_TTL);
    assertThat(verifies(leaf.leaf(), rotation.current().x509Authorities(), clock.now())).isTrue();
  }

  @Test
  void aLateTickStillPublishesTheNewRootTheLeadTimeBeforeItSigns() throws Exception {
    RootRotation rotation = rotating(RootRotation.Options.DEFAULTS.withPeriods(PERIOD, LEAD));
    X509Certificate first = rotation.signer().signingCertificate();
    // The process was down across the whole preparation window.
    clock.advance(PERIOD.plus(Duration.ofDays(5)));
    assertThat(rotation.tick()).isTrue();
    TrustBundle bundle = rotation.current();
    assertThat(bundle.authorities()).hasSize(2);
    assertThat(rotation.signer().signingCertificate()).isEqualTo(first);
    assertThat(bundle.authorities().get(1).activeFrom()).isEqualTo(clock.now().plus(LEAD));

    clock.advance(LEAD.minusSeconds(1));
    assertThat(rotation.tick()).isFalse();
    clock.advance(Duration.ofSeconds(1));
    assertThat(rotation.tick()).isTrue();
    assertThat(rotation.signer().signingCertificate()).isNotEqualTo(first);
  }

  @Test
  void jwtKeysRotateWithTheirRootAndAreInTheBundleWithKids() throws Exception {
    RootRotation rotation = rotating(RootRotation.Options.DEFAULTS.withPeriods(PERIOD, LEAD));
    JwtSigningKey firstKey = rotation.current().active().jwtKey();
    clock.advance(PERIOD.minus(LEAD));
    rotation.tick();
    TrustBundle bundle = rotation.current();
    assertThat(bundle.active().jwtKey()).isSameAs(firstKey);

    JsonNode json = new ObjectMapper().readTree(bundle.toJson(SpiffeBundle.DEFAULT_REFRESH_HINT));
    assertThat(json.get("spiffe_sequence").asLong()).isEqualTo(bundle.sequence());
    List<JsonNode> keys = new ArrayList<>();
    json.get("keys").forEach(keys::add);
    assertThat(keys).filteredOn(k -> k.get("use").asText().equals("x509-svid")).hasSize(2)
        .allSatisfy(k -> assertThat(k.has("kid")).isFalse());
    List<JsonNode> jwt = keys.stream().filter(k -> k.get("use").asText().equals("jwt-svid")).toList();
    assertThat(jwt).extracting(k -> k.get("kid").asText())
        .containsExactly(firstKey.keyId(), bundle.authorities().get(1).jwtKey().keyId());
    assertThat(jwt).allSatisfy(k -> {
      assertThat(k.get("kty").asText()).isEqualTo("EC");
      assertThat(k.get("crv").asText()).isEqualTo("P-256");
      assertThat(k.has("d")).as("no private part").isFalse();
    });

    clock.advance(LEAD);
    rotation.tick();
    assertThat(rotation.current().active().jwtKey()).isNotSameAs(firstKey);
    assertThat(rotation.current().jwtAuthority(firstKey.keyId())).as("kept while its tokens may live").isSameAs(firstKey);
  }

  @Test
  void periodsThatOutliveTheRootAreRefused() throws Exception {
    CertificateAuthority first = CertificateAuthority.selfSigned(crypto, clock, TD, KeyAlgorithm.DEFAULT, CA_OPTIONS);
    assertThatThrownBy(() -> RootRotation.rotating(crypto, clock, first,
        RootRotation.Options.DEFAULTS.withPeriods(Duration.ofDays(119), LEAD), () -> first))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("ca.rotation_period")
        .hasMessageContaining("is longer than the root validity PT2880H");
    assertThatThrownBy(() -> RootRotation.Options.DEFAULTS.withPeriods(Duration.ofDays(3), Duration.ofDays(3)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("must be shorter than rotationPeriod");
  }

  @Test
  void aFixedAuthorityNeverChanges() throws Exception {
    CertificateAuthority ca = CertificateAuthority.selfSigned(crypto, clock, TD, KeyAlgorithm.DEFAULT, CA_OPTIONS);
    RootRotation rotation = RootRotation.fixed(crypto, clock, ca, KeyAlgorithm.ECDSA_P384);
    clock.advance(Duration.ofDays(100));
    assertThat(rotation.tick()).isFalse();
    assertThat(rotation.nextTransition()).isNull();
    assertThat(rotation.current().sequence()).isEqualTo(1);
    assertThat(rotation.current().x509Authorities()).containsExactly(ca.signingCertificate());
    assertThat(rotation.current().active().jwtKey().jwsAlgorithm().getName()).isEqualTo("ES384");
  }

  @Test
  void aMinterFailureKeepsTheActiveRootAndIsRetried() throws Exception {
    CertificateAuthority first = CertificateAuthority.selfSigned(crypto, clock, TD, KeyAlgorithm.DEFAULT, CA_OPTIONS);
    int[] calls = {0};
    RootRotation rotation = RootRotation.rotating(crypto, clock, first,
        RootRotation.Options.DEFAULTS.withPeriods(PERIOD, LEAD), () -> {
          if (calls[0]++ == 0) {
            throw ConfigException.forSetting("ca.key_type", "the HSM is away");
          }
          return CertificateAuthority.selfSigned(crypto, clock, TD, KeyAlgorithm.DEFAULT, CA_OPTIONS);
        });
    clock.advance(PERIOD.minus(LEAD));
    assertThat(rotation.tick()).isFalse();
    assertThat(rotation.signer()).isSameAs(first);
    assertThat(rotation.tick()).isTrue();
    assertThat(rotation.current().x509Authorities()).hasSize(2);
  }

  /** RFC 5280 path validation of {@code leaf} against {@code roots} at {@code at}, by the JDK. */
  static boolean verifies(X509Certificate leaf, List<X509Certificate> roots, Instant at) throws GeneralSecurityException {
    Set<TrustAnchor> anchors = roots.stream().map(r -> new TrustAnchor(r, null)).collect(Collectors.toSet());
    PKIXParameters parameters = new PKIXParameters(anchors);
    parameters.setRevocationEnabled(false);
    parameters.setDate(Date.from(at));
    try {
      CertPathValidator.getInstance("PKIX").validate(
          CertificateFactory.getInstance("X.509").generateCertPath(List.of(leaf)), parameters);
      return true;
    } catch (java.security.cert.CertPathValidatorException e) {
      return false;
    }
  }
}
