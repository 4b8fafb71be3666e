package dev.meshguard.ca.server;

import dev.meshguard.ca.CaDirectory;
import dev.meshguard.ca.CaOptions;
import dev.meshguard.ca.CertificateAuthority;
import dev.meshguard.ca.RootRotation;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.time.Clock;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Re-reads a plugged-in CA (Istio's {@code cacerts} files, which istiod also hot-reloads) when
 * its files change: a poll on the scheduler compares the SHA-256 of the four files' contents
 * (not mtimes: Kubernetes swaps a secret volume by re-pointing a symlink), and on a change loads
 * them with every check of {@link CertificateAuthority#load} and {@link RootRotation#replace
 * swaps} the new CA in. A change that does not load (a key that does not match, a broken chain, a
 * file caught half-written) keeps the last good CA signing: the reason is logged once, counted,
 * and shown as {@code last_error} on {@code /status}; the next change of the files is tried
 * again.
 */
final class PluggedInCaReload implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(PluggedInCaReload.class.getName());
  private static final List<String> FILES = List.of(CaDirectory.CA_CERT, CaDirectory.CA_KEY, CaDirectory.CERT_CHAIN,
      CaDirectory.ROOT_CERT);

  private final Crypto crypto;
  private final Clock clock;
  private final Path dir;
  private final String trustDomain;
  private final CaOptions options;
  private final RootRotation rotation;
  private final CaMetrics metrics;
  private final ScheduledFuture<?> poll;
  /** The digest of the files last tried, loaded or not; only the poll thread touches it. */
  private byte[] lastDigest;
  private volatile String lastError;

  private PluggedInCaReload(Crypto crypto, Clock clock, Path dir, String trustDomain, CaOptions options,
      RootRotation rotation, CaMetrics metrics, ScheduledExecutorService scheduler, long intervalMillis) {
    this.crypto = crypto;
    this.clock = clock;
    this.dir = dir;
    this.trustDomain = trustDomain;
    this.options = options;
    this.rotation = rotation;
    this.metrics = metrics;
    this.lastDigest = digestQuietly();
    this.poll = scheduler.scheduleWithFixedDelay(this::checkQuietly, intervalMillis, intervalMillis,
        TimeUnit.MILLISECONDS);
  }

  /** Starts polling {@code dir}, whose files {@code rotation}'s CA was loaded from just before. */
  static PluggedInCaReload start(Crypto crypto, Clock clock, Path dir, String trustDomain, CaOptions options,
      RootRotation rotation, CaMetrics metrics, ScheduledExecutorService scheduler, long intervalMillis) {
    return new PluggedInCaReload(crypto, clock, dir, trustDomain, options, rotation, metrics, scheduler,
        intervalMillis);
  }

  /** Why the last change of the files was refused, or null when the last change loaded. */
  String lastError() {
    return lastError;
  }

  /**
   * Checks the files once: loads and swaps in a changed CA, or keeps the current one and records
   * why not. Runs on the poll thread; tests call it directly.
   *
   * @return whether a new CA was swapped in
   */
  synchronized boolean check() {
    byte[] digest;
    try {
      digest = digest();
    } catch (IOException e) {
      // A file missing or unreadable is a change too: one that cannot load.
      digest = null;
    }
    if (digest != null && Arrays.equals(digest, lastDigest)) {
      return false;
    }
    if (digest == null && lastDigest == null) {
      return false; // still unreadable; said so already
    }
    lastDigest = digest;
    try {
      CertificateAuthority ca = CertificateAuthority.load(crypto, clock, dir, trustDomain, options);
      CertificateAuthority current = rotation.signer();
      // Back to what signs already (a bad change undone): nothing to swap, the bundle is unchanged.
      boolean changed = !(ca.caChain().equals(current.caChain()) && ca.roots().equals(current.roots()));
      // Counted before its effects are visible, and lastError published last: whoever sees the new
      // CA signing or the error cleared (the /status page, a test) also finds the reload counted.
      metrics.reloaded(true);
      if (changed) {
        rotation.replace(ca);
      }
      lastError = null;
      if (changed) {
        LOG.info(() -> "the CA files in " + dir + " changed: " + ca + " signs from now on (valid until "
            + ca.signingCertificate().getNotAfter().toInstant() + ")");
      } else {
        LOG.info(() -> "the CA files in " + dir + " load again; " + current + " goes on signing");
      }
      return changed;
    } catch (ConfigException | RuntimeException e) {
      String reason = e instanceof ConfigException config ? config.getMessage() : e.toString();
      String error = "the CA files in " + dir + " changed but do not load, so the previous CA keeps signing: " + reason;
      // Counted before it is published, as above.
      metrics.reloaded(false);
      lastError = error;
      LOG.log(Level.WARNING, error);
      return false;
    }
  }

  private void checkQuietly() {
    try {
      check();
    } catch (RuntimeException e) {
      // A scheduled task that throws is never run again.
      LOG.log(Level.WARNING, "checking the CA files in " + dir + " failed", e);
    }
  }

  private byte[] digestQuietly() {
    try {
      return digest();
    } catch (IOException e) {
      return null;
    }
  }

  /** SHA-256 over the four files, each length-prefixed so that boundaries cannot shift. */
  private byte[] digest() throws IOException {
    MessageDigest sha256;
    try {
      sha256 = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is not available", e);
    }
    for (String name : FILES) {
      byte[] content;
      try {
        content = Files.readAllBytes(dir.resolve(name));
      } catch (NoSuchFileException e) {
        throw new IOException(name + " is missing", e);
      }
      sha256.update(ByteBuffer.allocate(Integer.BYTES).putInt(content.length).array());
      sha256.update(content);
      Arrays.fill(content, (byte) 0);
    }
    return sha256.digest();
  }

  @Override
  public void close() {
    poll.cancel(false);
  }
}
