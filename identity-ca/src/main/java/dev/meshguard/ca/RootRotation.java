package dev.meshguard.ca;

import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.KeyAlgorithm;
import dev.meshguard.core.spiffe.SpiffeId;
import dev.meshguard.core.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The authorities of one trust domain over time, rotated without an outage
 * (SPIFFE_Trust_Domain_and_Bundle.md §4.2; SPIRE's prepare/activate slots):
 *
 * <ol>
 *   <li><b>prepare</b>: {@link Options#leadTime()} before the active root's turn ends, a new root
 *       (and JWT key) is minted and <em>published</em> in the bundle, but signs nothing yet, so
 *       every relying party has it before the first SVID it signs exists;
 *   <li><b>activate</b>: at its turn the new root signs and the old one <em>retires</em>: it signs
 *       nothing more but stays in the bundle, so the SVIDs it signed keep verifying;
 *   <li><b>drop</b>: the old root leaves the bundle at {@code retiredAt + maxTtl} (clamped to its
 *       own notAfter): no SVID it signed can outlive that, since the CA refuses TTLs above
 *       {@link CaOptions#maxTtl()} and clamps every leaf to the issuer's notAfter. The rule needs
 *       no record of what was issued, so it holds for every issuance path.
 * </ol>
 *
 * A root's turn is {@link Options#rotationPeriod()} from its activation, cut short so it ends at
 * least {@code maxTtl} before the root expires. When a tick comes late (the process was stopped),
 * the lead time still holds: activation moves to {@code mint time + leadTime}.
 *
 * <p>State is an immutable {@link TrustBundle} in an atomic reference: {@link #current()} and
 * {@link #issue} never lock. {@link #tick()} (from a scheduler, or a test after advancing a
 * {@code ManualClock}) is serialised, and tells listeners after it has released its lock.
 *
 * <p>Rotated roots live in memory only; a plugged-in CA (files) is rotated by its operator and
 * uses {@link #fixed}.
 */
public final class RootRotation {
  private static final Logger LOG = Logger.getLogger(RootRotation.class.getName());

  /** A tick applies at most this many transitions, so a long pause catches up in one call. */
  private static final int MAX_TRANSITIONS_PER_TICK = 8;

  /**
   * Rotation settings.
   *
   * @param rotationPeriod how long each root signs before the next takes over
   * @param leadTime how long a new root is published before it signs; at least 3-5 bundle refresh
   *     hints (SPIFFE bundle spec), and at least the longest SVID lifetime so that Istio agents,
   *     which learn roots from their certificate responses, have renewed once before
   * @param jwtKeyAlgorithm the type of the JWT-SVID signing keys (P-256, i.e. ES256, by default)
   */
  public record Options(Duration rotationPeriod, Duration leadTime, KeyAlgorithm jwtKeyAlgorithm) {
    public static final Duration DEFAULT_ROTATION_PERIOD = Duration.ofDays(365);
    public static final Duration DEFAULT_LEAD_TIME = Duration.ofDays(7);
    public static final Options DEFAULTS = new Options(DEFAULT_ROTATION_PERIOD, DEFAULT_LEAD_TIME, KeyAlgorithm.DEFAULT);

    public Options {
      positive("rotationPeriod", rotationPeriod);
      positive("leadTime", leadTime);
      Objects.requireNonNull(jwtKeyAlgorithm, "jwtKeyAlgorithm");
      if (leadTime.compareTo(rotationPeriod) >= 0) {
        throw new IllegalArgumentException("leadTime " + leadTime + " must be shorter than rotationPeriod " + rotationPeriod);
      }
    }

    public Options withPeriods(Duration rotationPeriod, Duration leadTime) {
      return new Options(rotationPeriod, leadTime, jwtKeyAlgorithm);
    }
  }

  /** Makes the next root: a new self-signed CA valid from now (see {@link CertificateAuthority#selfSigned}). */
  @FunctionalInterface
  public interface Minter {
    CertificateAuthority mint() throws ConfigException;
  }

  private final Crypto crypto;
  private final Clock clock;
  private final Options options;
  /** Null for a fixed authority. */
  private final Minter minter;
  private final AtomicReference<TrustBundle> state;
  private final List<Consumer<TrustBundle>> listeners = new CopyOnWriteArrayList<>();
  private final Object tickLock = new Object();

  private RootRotation(Crypto crypto, Clock clock, Options options, Minter minter, TrustBundle initial) {
    this.crypto = crypto;
    this.clock = clock;
    this.options = options;
    this.minter = minter;
    this.state = new AtomicReference<>(initial);
  }

  /**
   * A rotating trust domain starting from {@code initial}, active since its notBefore; new roots
   * come from {@code minter}.
   *
   * @throws ConfigException when the JWT key cannot be generated, or the periods do not fit the
   *     CA's lifetime ({@code leadTime + rotationPeriod + maxTtl > caValidity})
   */
  public static RootRotation rotating(Crypto crypto, Clock clock, CertificateAuthority initial, Options options,
      Minter minter) throws ConfigException {
    Objects.requireNonNull(minter, "minter");
    CaOptions ca = initial.options();
    Duration turn = options.leadTime().plus(options.rotationPeriod()).plus(ca.maxTtl());
    if (turn.compareTo(ca.caValidity()) > 0) {
      throw ConfigException.forSetting("ca.rotation_period", "lead time " + options.leadTime() + " + rotation period "
          + options.rotationPeriod() + " + max TTL " + ca.maxTtl() + " is longer than the root validity "
          + ca.caValidity() + "; a new root would expire before its last SVID");
    }
    return new RootRotation(crypto, clock, options, minter, first(crypto, initial, options.jwtKeyAlgorithm()));
  }

  /** One authority that never rotates (a plugged-in CA, rotated by its operator through its files). */
  public static RootRotation fixed(Crypto crypto, Clock clock, CertificateAuthority ca, KeyAlgorithm jwtKeyAlgorithm)
      throws ConfigException {
    Options options = Options.DEFAULTS;
    return new RootRotation(crypto, clock, new Options(options.rotationPeriod(), options.leadTime(), jwtKeyAlgorithm),
        null, first(crypto, ca, jwtKeyAlgorithm));
  }

  private static TrustBundle first(Crypto crypto, CertificateAuthority ca, KeyAlgorithm jwtKeyAlgorithm)
      throws ConfigException {
    Instant since = ca.signingCertificate().getNotBefore().toInstant();
    TrustBundle.Authority authority = new TrustBundle.Authority(ca, JwtSigningKey.generate(crypto, jwtKeyAlgorithm),
        since, since, null, null);
    return new TrustBundle(ca.trustDomain(), 1, List.of(authority), authority);
  }

  /** The current state; lock-free. */
  public TrustBundle current() {
    return state.get();
  }

  /** The authority that signs now. */
  public CertificateAuthority signer() {
    return state.get().active().ca();
  }

  public String trustDomain() {
    return state.get().trustDomain();
  }

  /** {@link CertificateAuthority#issue} on the active authority. */
  public IssueResult issue(byte[] csr, SpiffeId caller, Duration ttl) {
    return signer().issue(csr, caller, ttl);
  }

  /** Called with the new state after every change, on the thread that ticked. */
  public void addListener(Consumer<TrustBundle> listener) {
    listeners.add(Objects.requireNonNull(listener, "listener"));
  }

  public void removeListener(Consumer<TrustBundle> listener) {
    listeners.remove(listener);
  }

  /**
   * Applies every transition due at the clock's now: activate a prepared root, drop retired ones
   * whose SVIDs have all expired, prepare the next root. Never throws: a failure to mint is
   * logged and retried at the next tick (the active root keeps signing).
   *
   * @return whether the state changed
   */
  public boolean tick() {
    TrustBundle changed = null;
    synchronized (tickLock) {
      for (int i = 0; i < MAX_TRANSITIONS_PER_TICK; i++) {
        TrustBundle next = step(state.get(), clock.now());
        if (next == null) {
          break;
        }
        state.set(next);
        changed = next;
      }
    }
    if (changed != null) {
      for (Consumer<TrustBundle> listener : listeners) {
        listener.accept(changed);
      }
    }
    return changed != null;
  }

  /** The next state after one transition due at {@code now}, or null when none is due. */
  private TrustBundle step(TrustBundle current, Instant now) {
    TrustBundle.Authority active = current.active();
    TrustBundle.Authority prepared = prepared(current);
    List<TrustBundle.Authority> authorities = new ArrayList<>(current.authorities());

    if (prepared != null && !now.isBefore(prepared.activeFrom())) {
      Instant drop = min(now.plus(active.ca().options().maxTtl()), active.signingNotAfter());
      authorities.set(authorities.indexOf(active), active.retire(now, drop));
      LOG.info(() -> "root rotation in " + current.trustDomain() + ": " + prepared.ca() + " signs from now on; "
          + active.ca() + " retires and leaves the bundle at " + drop);
      return new TrustBundle(current.trustDomain(), current.sequence() + 1, authorities, prepared);
    }
    for (TrustBundle.Authority authority : current.authorities()) {
      if (authority.dropAt() != null && !now.isBefore(authority.dropAt())) {
        authorities.remove(authority);
        LOG.info(() -> "root rotation in " + current.trustDomain() + ": " + authority.ca()
            + " leaves the bundle (every SVID it signed has expired)");
        return new TrustBundle(current.trustDomain(), current.sequence() + 1, authorities, active);
      }
    }
    if (minter != null && prepared == null && !now.isBefore(nextActivation(active).minus(options.leadTime()))) {
      CertificateAuthority ca;
      JwtSigningKey jwtKey;
      try {
        ca = minter.mint();
        jwtKey = JwtSigningKey.generate(crypto, options.jwtKeyAlgorithm());
      } catch (ConfigException | RuntimeException e) {
        LOG.log(Level.WARNING, "root rotation in " + current.trustDomain()
            + ": cannot make the next root; the active one keeps signing and the next tick tries again", e);
        return null;
      }
      if (!ca.trustDomain().equals(current.trustDomain())) {
        LOG.warning(() -> "root rotation: the minter made a root of " + ca.trustDomain() + ", not of "
            + current.trustDomain() + "; it is not published");
        return null;
      }
      Instant activeFrom = max(nextActivation(active), now.plus(options.leadTime()));
      authorities.add(new TrustBundle.Authority(ca, jwtKey, now, activeFrom, null, null));
      LOG.info(() -> "root rotation in " + current.trustDomain() + ": published " + ca + ", which signs from "
          + activeFrom);
      return new TrustBundle(current.trustDomain(), current.sequence() + 1, authorities, active);
    }
    return null;
  }

  /** The published authority that has not signed yet, or null. */
  private static TrustBundle.Authority prepared(TrustBundle bundle) {
    for (TrustBundle.Authority authority : bundle.authorities()) {
      if (authority != bundle.active() && authority.retiredAt() == null) {
        return authority;
      }
    }
    return null;
  }

  /** When {@code active}'s turn ends: a rotation period after it started, or maxTtl before it expires. */
  private Instant nextActivation(TrustBundle.Authority active) {
    return min(active.activeFrom().plus(options.rotationPeriod()),
        active.signingNotAfter().minus(active.ca().options().maxTtl()));
  }

  /**
   * When the next transition is due, for a scheduler that wants to sleep until then; null when
   * nothing will ever change (a fixed authority).
   */
  public Instant nextTransition() {
    TrustBundle current = state.get();
    Instant next = null;
    TrustBundle.Authority prepared = prepared(current);
    if (prepared != null) {
      next = prepared.activeFrom();
    } else if (minter != null) {
      next = nextActivation(current.active()).minus(options.leadTime());
    }
    for (TrustBundle.Authority authority : current.authorities()) {
      if (authority.dropAt() != null) {
        next = next == null ? authority.dropAt() : min(next, authority.dropAt());
      }
    }
    return next;
  }

  private static Instant min(Instant a, Instant b) {
    return a.isBefore(b) ? a : b;
  }

  private static Instant max(Instant a, Instant b) {
    return a.isAfter(b) ? a : b;
  }

  private static void positive(String name, Duration value) {
    Objects.requireNonNull(value, name);
    if (value.isZero() || value.isNegative()) {
      throw new IllegalArgumentException(name + " must be positive: " + value);
    }
  }

  @Override
  public String toString() {
    TrustBundle current = state.get();
    return "RootRotation[" + current.trustDomain() + ", sequence " + current.sequence() + ", "
        + current.authorities().size() + " published, active " + current.active().ca() + "]";
  }
}
