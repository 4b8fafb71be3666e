package dev.meshguard.core.tls;

import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import java.lang.System.Logger.Level;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The live TLS material of one server or client, swapped whole when the files change.
 *
 * <h2>Design</h2>
 *
 * Readers (handshakes, on netty event loops) call {@link #current()}: one volatile read of an
 * immutable {@link State}, no lock. The single writer is {@link #checkForChanges()}, run by a
 * scheduled poll: it reads the files, and when their content hash differs from the current
 * generation's it builds a complete new {@link TlsMaterial} and publishes it with one
 * {@code set}. A build that fails (half-written file, key of another certificate, unreadable
 * PEM) publishes nothing: the last good generation stays, the reason is logged once per distinct
 * bad content and counted, and the next poll tries again once the content changes.
 *
 * <p>The key manager resolves a key in two calls (choose an alias, then fetch chain and key by
 * alias), and a swap may fall between them. Aliases therefore carry their generation number, and
 * the state keeps the previous generation resolvable: a handshake that chose generation N still
 * gets N's chain and key after N+1 is published. Only a second swap inside one handshake (two
 * reloads within milliseconds, impossible with a poll interval of at least
 * {@link TlsOptions#MIN_RELOAD_INTERVAL}) would fail that one handshake — an accepted race.
 *
 * <p>TLS sessions established before a swap keep the identity they were made with, including
 * resumptions of them; new full handshakes use the new generation.
 */
final class ReloadingMaterial {

  private static final System.Logger LOG = System.getLogger(ReloadingMaterial.class.getName());

  /** One published set of material, numbered from 1. */
  record Generation(long number, TlsMaterial material) {}

  private record State(Generation current, Generation previous) {}

  private final Crypto crypto;
  private final TlsOptions options;
  private final AtomicReference<State> state;
  private final AtomicLong failures = new AtomicLong();
  // Written only by checkForChanges (synchronized).
  private byte[] currentDigest;
  private byte[] rejectedDigest;
  private volatile String lastProblem; // also read by status pages

  private ReloadingMaterial(Crypto crypto, TlsOptions options, TlsMaterial material, byte[] digest) {
    this.crypto = crypto;
    this.options = options;
    this.state = new AtomicReference<>(new State(new Generation(1, material), null));
    this.currentDigest = digest;
  }

  /** Loads generation 1; a failure here is a start-up error. */
  static ReloadingMaterial load(Crypto crypto, TlsOptions options) throws ConfigException {
    FileContents files = FileContents.read(options);
    try {
      byte[] digest = files.digest();
      TlsMaterial material = TlsMaterial.build(crypto, options, files);
      ReloadingMaterial reloading = new ReloadingMaterial(crypto, options, material, digest);
      LOG.log(Level.INFO, "loaded TLS material from {0}: {1}", FileContents.describe(options), summary(material));
      return reloading;
    } finally {
      files.wipe();
    }
  }

  Generation current() {
    return state.get().current();
  }

  /** The generation numbered {@code number} if it is still resolvable (current or previous), else null. */
  Generation generation(long number) {
    State s = state.get();
    if (s.current().number() == number) {
      return s.current();
    }
    Generation previous = s.previous();
    return previous != null && previous.number() == number ? previous : null;
  }

  /** Reloads that were refused (distinct bad contents or read problems), for metrics and tests. */
  long failures() {
    return failures.get();
  }

  /** Why the files' current content was refused, or null when the current generation is that content. */
  String lastProblem() {
    return lastProblem;
  }

  /**
   * Reads the files and publishes a new generation when their content changed and is good.
   *
   * @return true when a new generation was published
   */
  synchronized boolean checkForChanges() {
    FileContents files;
    try {
      files = FileContents.read(options);
    } catch (ConfigException e) {
      // E.g. a file briefly missing during a non-atomic update: keep going, retry next poll.
      refuse(null, e);
      return false;
    }
    byte[] digest = files.digest();
    try {
      if (Arrays.equals(digest, currentDigest)) {
        lastProblem = null;
        rejectedDigest = null;
        return false;
      }
      if (Arrays.equals(digest, rejectedDigest)) {
        return false; // the same bad content as last time: already logged and counted
      }
      TlsMaterial material = TlsMaterial.build(crypto, options, files);
      State old = state.get();
      Generation next = new Generation(old.current().number() + 1, material);
      // Only the writer sets the state, so a plain set after get is safe.
      state.set(new State(next, old.current()));
      currentDigest = digest;
      rejectedDigest = null;
      lastProblem = null;
      LOG.log(Level.INFO, "reloaded TLS material from {0}, generation {1}: {2}",
          FileContents.describe(options), next.number(), summary(material));
      return true;
    } catch (ConfigException e) {
      refuse(digest, e);
      return false;
    } finally {
      files.wipe();
    }
  }

  private void refuse(byte[] digest, ConfigException e) {
    rejectedDigest = digest;
    String problem = e.getMessage();
    if (!problem.equals(lastProblem)) {
      lastProblem = problem;
      failures.incrementAndGet();
      LOG.log(Level.WARNING, "TLS material not reloaded, keeping generation {0}: {1}",
          current().number(), problem);
    }
  }

  private static String summary(TlsMaterial material) {
    X509Certificate leaf = material.leaf();
    String identity = leaf == null ? "no certificate"
        : "certificate serial " + leaf.getSerialNumber().toString(16) + " valid until " + leaf.getNotAfter().toInstant();
    return identity + ", " + material.trustAnchors().size() + " trust anchor(s)";
  }
}
