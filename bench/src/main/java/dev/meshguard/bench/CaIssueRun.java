package dev.meshguard.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.meshguard.ca.CaOptions;
import dev.meshguard.ca.CertificateAuthority;
import dev.meshguard.ca.IssueResult;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.CryptoMode;
import dev.meshguard.core.crypto.KeyAlgorithm;
import dev.meshguard.core.spiffe.SpiffeId;
import dev.meshguard.core.time.Clock;
import java.io.IOException;
import java.io.PrintStream;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/**
 * One JVM's measurement for {@code ca-issue}, in one crypto mode: certificates issued per second
 * by {@link CertificateAuthority#issue} (an ECDSA P-256 CSR, a P-256 CA key: the CSR policy, the
 * CSR's signature verified, the leaf built, signed and parsed) against the baseline, one P-256
 * verification (of the CSR) plus one P-256 signature (of an issued leaf's TBS bytes) through the
 * same {@link Crypto} calls, so the same provider, as the CA makes.
 *
 * <p>Method. After a warm-up that alternates the two operations (so the JIT compiles both before
 * anything is timed), each round runs four slices back to back: the CA and its baseline on one
 * thread, then on {@code threads} threads, every thread with its own CSR and all sharing the CA as
 * the server's request threads do. Which of a pair goes first alternates from round to round. A
 * ratio is a slice's issued/s over its neighbour's baseline/s; the figure is the median over
 * rounds. Interleaving, rather than timing all of one then all of the other, cancels most of the
 * drift of a noisy, shared machine, and neither side profits from warming the JIT for the other.
 *
 * <p>The baseline decodes the CSR's public key from its encoding for every verification, as the CA
 * must (every CSR brings a key it has not seen): BC-FIPS validates a public key on the first use
 * of each key object, about a third of a verification, which a baseline reusing one key object
 * would skip.
 *
 * <p>Approved-only mode is JVM-wide and must be set before BC-FIPS loads, so {@link CaIssueSuite}
 * runs FIPS mode through {@link #main} in a JVM of its own; it prints progress on stderr and the
 * result as one JSON line on stdout.
 */
final class CaIssueRun {
  static final String TRUST_DOMAIN = "bench.example";
  static final SpiffeId WORKLOAD = new SpiffeId(TRUST_DOMAIN, "/ns/default/sa/web");
  static final Duration TTL = Duration.ofHours(24);
  static final String SIGNATURE = "SHA256withECDSA";
  private static final String SETTING = "bench";
  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * How much to run.
   *
   * @param warmup the alternating warm-up before the rounds
   * @param rounds rounds measured
   * @param slice how long each of a round's four slices runs
   * @param threads the threads of the all-cores slices
   */
  record Settings(Duration warmup, int rounds, Duration slice, int threads) {
    Settings {
      Objects.requireNonNull(warmup, "warmup");
      Objects.requireNonNull(slice, "slice");
      if (rounds < 1 || threads < 1 || slice.isZero() || slice.isNegative() || warmup.isNegative()) {
        throw new IllegalArgumentException("need rounds >= 1, threads >= 1 and a positive slice");
      }
    }
  }

  /**
   * What one mode measured: operations per second summed over the rounds, and the per-round ratios.
   *
   * @param single issued/s and baseline/s on one thread, with each round's ratio
   * @param allCores the same on {@code threads} threads
   */
  record Result(String mode, int threads, Rates single, Rates allCores) {}

  /** Rates over all rounds, and each round's ratio of issued/s to baseline/s. */
  record Rates(double issuedPerSecond, double baselinePerSecond, List<Double> ratios) {
    Rates {
      ratios = List.copyOf(ratios);
    }

    double medianRatio() {
      double[] sorted = ratios.stream().mapToDouble(Double::doubleValue).sorted().toArray();
      int mid = sorted.length / 2;
      return sorted.length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    double minRatio() {
      return ratios.stream().mapToDouble(Double::doubleValue).min().orElseThrow();
    }

    double maxRatio() {
      return ratios.stream().mapToDouble(Double::doubleValue).max().orElseThrow();
    }
  }

  /** The CA, shared by every thread, and one CSR per thread with the bytes its baseline uses. */
  private record Fixture(Crypto crypto, CertificateAuthority ca, KeyPair signingKey, List<Request> requests) {}

  private record Request(byte[] csr, byte[] csrKey, byte[] csrInfo, byte[] csrSignature, byte[] leafToBeSigned) {}

  /** One operation on thread {@code index}; returns a value the caller folds in, so nothing is optimised away. */
  @FunctionalInterface
  private interface Operation {
    int run(int index) throws Exception;
  }

  private CaIssueRun() {}

  /** Measures {@code mode} in this JVM (installing its providers, which are JVM-wide). */
  static Result run(String mode, Settings settings, PrintStream progress) throws Exception {
    Fixture fixture = fixture(CaIssueSuite.cryptoMode(mode), settings.threads());
    Operation issue = index -> issue(fixture, index);
    Operation baseline = index -> verifyAndSign(fixture, index);

    progress.printf(Locale.ROOT, "ca-issue: %s mode, %s provider; warm-up %d s%n", mode,
        fixture.crypto().isFips() ? "BCFIPS (approved-only)" : "the JDK's", settings.warmup().toSeconds());
    long warmupEnd = System.nanoTime() + settings.warmup().toNanos();
    Duration warmupSlice = settings.slice().dividedBy(4);
    while (System.nanoTime() < warmupEnd) {
      slice(1, warmupSlice, issue);
      slice(1, warmupSlice, baseline);
      slice(settings.threads(), warmupSlice, issue);
      slice(settings.threads(), warmupSlice, baseline);
    }
    Tally single = new Tally();
    Tally all = new Tally();
    for (int round = 1; round <= settings.rounds(); round++) {
      boolean issueFirst = round % 2 == 1;
      single.add(pair(1, settings.slice(), issue, baseline, issueFirst));
      all.add(pair(settings.threads(), settings.slice(), issue, baseline, !issueFirst));
      progress.printf(Locale.ROOT, "ca-issue: %s round %d: 1 thread %.0f issued/s, %.0f verify+sign/s (%.3f);"
          + " %d threads %.0f issued/s, %.0f verify+sign/s (%.3f)%n", mode, round, single.lastIssued(),
          single.lastBaseline(), single.lastRatio(), settings.threads(), all.lastIssued(), all.lastBaseline(),
          all.lastRatio());
    }
    return new Result(mode, settings.threads(), single.rates(), all.rates());
  }

  /** Both operations for one slice each, in the given order: {issued/s, baseline/s}. */
  private static double[] pair(int threads, Duration slice, Operation issue, Operation baseline, boolean issueFirst)
      throws Exception {
    double issued;
    double base;
    if (issueFirst) {
      issued = slice(threads, slice, issue);
      base = slice(threads, slice, baseline);
    } else {
      base = slice(threads, slice, baseline);
      issued = slice(threads, slice, issue);
    }
    return new double[] {issued, base};
  }

  /** Rounds of one thread count. */
  private static final class Tally {
    private double issuedSum;
    private double baselineSum;
    private final List<Double> ratios = new ArrayList<>();
    private double lastIssued;
    private double lastBaseline;

    void add(double[] rates) {
      lastIssued = rates[0];
      lastBaseline = rates[1];
      issuedSum += rates[0];
      baselineSum += rates[1];
      ratios.add(rates[0] / rates[1]);
    }

    double lastIssued() {
      return lastIssued;
    }

    double lastBaseline() {
      return lastBaseline;
    }

    double lastRatio() {
      return ratios.getLast();
    }

    Rates rates() {
      return new Rates(issuedSum / ratios.size(), baselineSum / ratios.size(), ratios);
    }
  }

  /**
   * Runs {@code operation} on {@code threads} threads for {@code duration}, each thread on its
   * own request; the rate is every thread's operations over the time from the common start until
   * the last thread stopped.
   */
  private static double slice(int threads, Duration duration, Operation operation) throws Exception {
    CountDownLatch ready = new CountDownLatch(threads);
    CountDownLatch start = new CountDownLatch(1);
    long[] counts = new long[threads];
    // Each thread's results folded and stored, so none of the work can be optimised away.
    int[] sinks = new int[threads];
    AtomicReference<Exception> failure = new AtomicReference<>();
    long[] deadline = new long[1];
    List<Thread> workers = new ArrayList<>(threads);
    for (int t = 0; t < threads; t++) {
      int index = t;
      workers.add(Thread.ofPlatform().name("ca-issue-" + t).start(() -> {
        ready.countDown();
        try {
          start.await();
          long end = deadline[0];
          long count = 0;
          int sink = 0;
          while (System.nanoTime() < end) {
            sink += operation.run(index);
            count++;
          }
          counts[index] = count;
          sinks[index] = sink;
        } catch (Exception e) {
          failure.compareAndSet(null, e);
        }
      }));
    }
    ready.await();
    long begin = System.nanoTime();
    deadline[0] = begin + duration.toNanos();
    start.countDown(); // publishes deadline[0] to the workers (happens-before through the latch)
    for (Thread worker : workers) {
      worker.join();
    }
    long elapsed = System.nanoTime() - begin;
    if (failure.get() != null) {
      throw failure.get();
    }
    return Arrays.stream(counts).sum() * 1e9 / elapsed;
  }

  private static int issue(Fixture fixture, int index) {
    IssueResult result = fixture.ca().issue(fixture.requests().get(index).csr(), WORKLOAD, TTL);
    if (!(result instanceof IssueResult.Issued issued)) {
      throw new IllegalStateException("the CA refused the benchmark's CSR: " + result);
    }
    return issued.serial().hashCode();
  }

  /** The baseline: what every issuance cannot avoid, through the same {@link Crypto} calls the CA makes. */
  private static int verifyAndSign(Fixture fixture, int index) throws ConfigException, GeneralSecurityException {
    Request request = fixture.requests().get(index);
    PublicKey key = fixture.crypto().keyFactory("EC").generatePublic(new X509EncodedKeySpec(request.csrKey()));
    if (!fixture.crypto().verify(SIGNATURE, key, request.csrInfo(), request.csrSignature())) {
      throw new IllegalStateException("the CSR's signature stopped verifying");
    }
    return fixture.crypto().sign(SETTING, SIGNATURE, fixture.signingKey().getPrivate(), request.leafToBeSigned())
        .length;
  }

  private static Fixture fixture(CryptoMode mode, int threads)
      throws ConfigException, IOException, OperatorCreationException {
    Crypto crypto = Crypto.install(mode);
    CertificateAuthority ca = CertificateAuthority.selfSigned(crypto, Clock.SYSTEM, TRUST_DOMAIN,
        KeyAlgorithm.ECDSA_P256, CaOptions.defaults());
    KeyPair signingKey = crypto.generateKeyPair(SETTING, KeyAlgorithm.ECDSA_P256);
    List<Request> requests = new ArrayList<>(threads);
    for (int t = 0; t < threads; t++) {
      requests.add(request(crypto, ca));
    }
    return new Fixture(crypto, ca, signingKey, requests);
  }

  /** A CSR for {@link #WORKLOAD} with a new P-256 key, and the bytes the baseline verifies and signs. */
  private static Request request(Crypto crypto, CertificateAuthority ca)
      throws ConfigException, IOException, OperatorCreationException {
    KeyPair keyPair = crypto.generateKeyPair(SETTING, KeyAlgorithm.ECDSA_P256);
    ExtensionsGenerator extensions = new ExtensionsGenerator();
    extensions.addExtension(Extension.subjectAlternativeName, true,
        new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, WORKLOAD.toString())));
    JcaPKCS10CertificationRequestBuilder builder = new JcaPKCS10CertificationRequestBuilder(new X500Name(new RDN[0]),
        keyPair.getPublic());
    builder.addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, extensions.generate());
    // The default provider order: BCFIPS comes first in FIPS mode.
    PKCS10CertificationRequest csr = builder.build(new JcaContentSignerBuilder(SIGNATURE)
        .setSecureRandom(crypto.secureRandom()).build(keyPair.getPrivate()));
    IssueResult issued = ca.issue(csr.getEncoded(), WORKLOAD, TTL);
    if (!(issued instanceof IssueResult.Issued leaf)) {
      throw new IllegalStateException("the CA refused the benchmark's CSR: " + issued);
    }
    try {
      return new Request(csr.getEncoded(), keyPair.getPublic().getEncoded(),
          csr.toASN1Structure().getCertificationRequestInfo().getEncoded(), csr.getSignature(),
          leaf.leaf().getTBSCertificate());
    } catch (java.security.cert.CertificateEncodingException e) {
      throw new IllegalStateException("cannot encode a certificate the CA just made", e);
    }
  }

  /**
   * {@code CaIssueRun MODE WARMUP_MS ROUNDS SLICE_MS THREADS}: measures one mode in this JVM and
   * prints the result as one JSON line on stdout (progress on stderr); exit status 1 on failure.
   */
  public static void main(String[] args) {
    try {
      if (args.length != 5) {
        throw new IllegalArgumentException("usage: CaIssueRun MODE WARMUP_MS ROUNDS SLICE_MS THREADS");
      }
      Settings settings = new Settings(Duration.ofMillis(Long.parseLong(args[1])), Integer.parseInt(args[2]),
          Duration.ofMillis(Long.parseLong(args[3])), Integer.parseInt(args[4]));
      Result result = run(args[0], settings, System.err);
      System.out.println(toJson(result));
      System.exit(0);
    } catch (Exception e) {
      System.err.println("ca-issue: " + e);
      e.printStackTrace(System.err);
      System.exit(1);
    }
  }

  static String toJson(Result result) throws IOException {
    ObjectNode node = JSON.createObjectNode();
    node.put("mode", result.mode());
    node.put("threads", result.threads());
    node.set("single", rates(result.single()));
    node.set("all_cores", rates(result.allCores()));
    return JSON.writeValueAsString(node);
  }

  private static ObjectNode rates(Rates rates) {
    ObjectNode node = JSON.createObjectNode();
    node.put("issued_per_sec", rates.issuedPerSecond());
    node.put("baseline_per_sec", rates.baselinePerSecond());
    rates.ratios().forEach(node.putArray("ratios")::add);
    return node;
  }

  static Result fromJson(String line) throws IOException {
    JsonNode node = JSON.readTree(line);
    return new Result(node.path("mode").asText(), node.path("threads").asInt(), rates(node.path("single")),
        rates(node.path("all_cores")));
  }

  private static Rates rates(JsonNode node) {
    List<Double> ratios = new ArrayList<>();
    node.path("ratios").forEach(r -> ratios.add(r.asDouble()));
    return new Rates(node.path("issued_per_sec").asDouble(), node.path("baseline_per_sec").asDouble(), ratios);
  }
}
