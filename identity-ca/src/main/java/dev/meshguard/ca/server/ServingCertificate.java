package dev.meshguard.ca.server;

import dev.meshguard.ca.IssueResult;
import dev.meshguard.ca.PemText;
import dev.meshguard.ca.RootRotation;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.KeyAlgorithm;
import dev.meshguard.core.spiffe.SpiffeId;
import dev.meshguard.core.time.Clock;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/**
 * The CA servers' own certificate, issued by the authority that signs now ({@link RootRotation})
 * through its CSR policy: the servers' SPIFFE ID plus the configured DNS names (istio-agent checks the host of {@code CA_ADDR}, an
 * https_web bundle client the host of its URL). A fresh key every time, written with the chain
 * (leaf and intermediates, not the root) to a private directory, where the TLS context's file
 * poll picks it up; renewed at half its lifetime, and retried a minute later when renewal fails;
 * renewed at once when another authority starts signing ({@link #renewNow()}), so the servers'
 * chain follows the rotation.
 *
 * <p>Files are written to a temporary name and moved into place, key first; the TLS context
 * refuses a certificate whose key does not match and takes the pair at its next poll.
 */
final class ServingCertificate implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(ServingCertificate.class.getName());
  static final String CERT_FILE = "serving-cert.pem";
  static final String KEY_FILE = "serving-key.pem";
  static final Duration RETRY = Duration.ofMinutes(1);

  private final RootRotation rotation;
  private final Crypto crypto;
  private final Clock clock;
  private final SpiffeId id;
  private final List<String> dnsNames;
  private final Duration ttl;
  private final Path dir;
  private final ScheduledExecutorService scheduler;
  private volatile ScheduledFuture<?> next;
  private volatile X509Certificate current;
  private volatile boolean closed;

  private ServingCertificate(RootRotation rotation, Crypto crypto, Clock clock, SpiffeId id, List<String> dnsNames,
      Duration ttl, Path dir, ScheduledExecutorService scheduler) {
    this.rotation = rotation;
    this.crypto = crypto;
    this.clock = clock;
    this.id = id;
    this.dnsNames = List.copyOf(dnsNames);
    this.ttl = ttl;
    this.dir = dir;
    this.scheduler = scheduler;
  }

  /**
   * Issues the first certificate into {@code dir} and schedules its renewals.
   *
   * @throws ConfigException when the CA refuses it (e.g. a DNS name that is not a valid SAN), naming the setting
   */
  static ServingCertificate start(RootRotation rotation, Crypto crypto, Clock clock, SpiffeId id,
      List<String> dnsNames, Duration ttl, Path dir, ScheduledExecutorService scheduler) throws ConfigException {
    ServingCertificate serving = new ServingCertificate(rotation, crypto, clock, id, dnsNames, ttl, dir, scheduler);
    try {
      serving.renew();
    } catch (IOException e) {
      throw ConfigException.forSetting("ca.server_dns_names", "cannot write the servers' certificate to " + dir + ": " + e);
    }
    serving.scheduleNext();
    return serving;
  }

  Path certFile() {
    return dir.resolve(CERT_FILE);
  }

  Path keyFile() {
    return dir.resolve(KEY_FILE);
  }

  /** The certificate last written. */
  X509Certificate current() {
    return current;
  }

  /** Issues and writes a new certificate with a new key. */
  synchronized void renew() throws ConfigException, IOException {
    KeyPair keyPair = crypto.generateKeyPair("ca.server_dns_names", KeyAlgorithm.DEFAULT);
    Duration maxTtl = rotation.signer().options().maxTtl();
    IssueResult result = rotation.issue(csr(keyPair), id, ttl.compareTo(maxTtl) > 0 ? maxTtl : ttl);
    IssueResult.Issued issued = switch (result) {
      case IssueResult.Issued ok -> ok;
      case IssueResult.Refused refused -> throw ConfigException.forSetting("ca.server_dns_names",
          "the CA refused its own serving certificate for " + id + " " + dnsNames + ": " + refused.refusal().reason());
    };
    List<X509Certificate> chain = new ArrayList<>(issued.chain());
    if (chain.size() > 1) {
      chain.removeLast(); // peers have the root; sending it only costs bytes
    }
    byte[] key = keyPair.getPrivate().getEncoded();
    String keyPem = "-----BEGIN PRIVATE KEY-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(key)
        + "\n-----END PRIVATE KEY-----\n";
    java.util.Arrays.fill(key, (byte) 0);
    replace(keyFile(), keyPem, "rw-------");
    replace(certFile(), PemText.certificates(chain), "rw-r--r--");
    current = issued.leaf();
  }

  private static void replace(Path file, String content, String mode) throws IOException {
    Path temp = file.resolveSibling(file.getFileName() + ".new");
    Files.deleteIfExists(temp);
    Files.createFile(temp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(mode)));
    Files.writeString(temp, content, StandardCharsets.US_ASCII);
    Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  private byte[] csr(KeyPair keyPair) throws ConfigException {
    try {
      List<GeneralName> names = new ArrayList<>();
      names.add(new GeneralName(GeneralName.uniformResourceIdentifier, id.toString()));
      dnsNames.forEach(dns -> names.add(new GeneralName(GeneralName.dNSName, dns)));
      ExtensionsGenerator extensions = new ExtensionsGenerator();
      extensions.addExtension(Extension.subjectAlternativeName, true, new GeneralNames(names.toArray(GeneralName[]::new)));
      var builder = new JcaPKCS10CertificationRequestBuilder(new X500Name(new org.bouncycastle.asn1.x500.RDN[0]),
          keyPair.getPublic());
      builder.addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, extensions.generate());
      // The default provider order: BCFIPS comes first in FIPS mode (Crypto.install puts it there).
      return builder.build(new JcaContentSignerBuilder(KeyAlgorithm.DEFAULT.signatureAlgorithm())
          .setSecureRandom(crypto.secureRandom()).build(keyPair.getPrivate())).getEncoded();
    } catch (IOException | OperatorCreationException | RuntimeException e) {
      throw ConfigException.forSetting("ca.server_dns_names", "cannot make the CSR of the servers' certificate: " + e);
    }
  }

  private void scheduleNext() {
    if (closed) {
      return;
    }
    Instant now = clock.now();
    Instant notAfter = current.getNotAfter().toInstant();
    Duration delay = Duration.between(now, notAfter).dividedBy(2);
    if (delay.compareTo(RETRY) < 0) {
      delay = RETRY;
    }
    schedule(delay);
  }

  private synchronized void schedule(Duration delay) {
    ScheduledFuture<?> previous = next;
    if (previous != null) {
      previous.cancel(false);
    }
    next = scheduler.schedule(this::renewQuietly, delay.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Renews now (another authority signs from now on) and reschedules; failures are retried as usual. */
  void renewNow() {
    if (!closed) {
      renewQuietly();
    }
  }

  private void renewQuietly() {
    try {
      renew();
      LOG.info(() -> "renewed the CA servers' certificate: serial " + current.getSerialNumber().toString(16)
          + ", valid until " + current.getNotAfter().toInstant());
      scheduleNext();
    } catch (ConfigException | IOException | RuntimeException e) {
      LOG.log(Level.WARNING, "renewing the CA servers' certificate failed; retrying in " + RETRY, e);
      if (!closed) {
        schedule(RETRY);
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    ScheduledFuture<?> scheduled = next;
    if (scheduled != null) {
      scheduled.cancel(false);
    }
  }
}
