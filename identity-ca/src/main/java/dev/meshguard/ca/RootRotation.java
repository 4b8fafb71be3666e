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
 *   <li><b>activate</b>: a lead time after it was minted the new root signs and the old one
 *       <em>retires</em>: it signs nothing more but stays in the bundle, so the SVIDs it signed
 *       keep verifying;
 *   <li><b>drop</b>: the old root leaves the bundle at {@code retiredAt + maxTtl} (clamped to its
 *       own notAfter): no SVID it signed can outlive that, since the CA refuses TTLs above
 *       {@link CaOptions#maxTtl()} and clamps every leaf to the issuer's notAfter. The rule needs
 *       no record of what was issued, so it holds for every issuance path.
 * </ol>
 *
 * A root's turn is {@link Options#rotationPeriod()} from its activation, cut short so it ends at
 * least {@code maxTtl} before the root expires. When a tick comes late (the process was stopped),
 * the lead time still holds: a root always activates a lead time after it was minted.
 *
 * <p><b>The schedule is a function of the certificates.</b> A minted root is published at its
 * notBefore plus the CA's back-dating (the instant it was made), activates a lead time later, and
 * retires exactly when its successor activates, whenever the tick that records it runs:
 * {@link #issue} and {@link #active()} pick the authority by the clock, not by the last tick, so
 * an old root never signs past its successor's activation. So {@link #restore} rebuilds the same
 * state from the persisted roots alone ({@link RootStore}), and a restart mid-rotation changes
 * nothing (settings changed in between move the schedule accordingly).
 *
 * <p>State is an immutable {@link TrustBundle} in an atomic reference: {@link #current()} and
 * {@link #issue} never lock. {@link #tick()} (from a scheduler, or a test after advancing a
 * {@code ManualClock}) is serialised, writes through the {@link Journal} under its lock, and tells
 * listeners after it has released it.
 *
 * <p>A plugged-in CA (files) is rotated by its operator and uses {@link #fixed}; {@link #replace}
 * swaps in its re-read files.
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

  /**
   * Where the authorities are persisted ({@link RootStore}); both calls run under the tick lock,
   * so they never overlap.
   */
  public interface Journal {
    /** Keeps nothing: roots live in memory only. */
    Journal NONE = new Journal() {};

    /**
     * Called with a minted authority before it enters the bundle. Throwing keeps it out: the
     * active root keeps signing and the next tick mints again. So no root is ever published, and
     * none ever signs, that a restart would not find.
     */
    default void publishing(TrustBundle.Authority authority) throws ConfigException {}

    /** Called after every change with the new state; must not throw (log instead). */
    default void changed(TrustBundle bundle) {}
  }

  /**
   * A persisted authority, for {@link #restore}.
   *
   * @param ca the X.509 authority
   * @param jwtKey its JWT-SVID signing key
   */
  public record Stored(CertificateAuthority ca, JwtSigningKey jwtKey) {
    public Stored {
      Objects.requireNonNull(ca, "ca");
      Objects.requireNonNull(jwtKey, "jwtKey");
    }
  }

  /** A minted root made before now by more than this was not minted now; it is not published. */
  private static final Duration MAX_MINT_AGE = Duration.ofMinutes(1);

  private final Crypto crypto;
  private final Clock clock;
  private final Options options;
  /** Null for a fixed authority. */
  private final Minter minter;
  private final Journal journal;
  private final AtomicReference<TrustBundle> state;
  private final List<Consumer<TrustBundle>> listeners = new CopyOnWriteArrayList<>();
  private final Object tickLock = new Object();

  private RootRotation(Crypto crypto, Clock clock, Options options, Minter minter, Journal journal,
      TrustBundle initial) {
    this.crypto = crypto;
    this.clock = clock;
    this.options = options;
    this.minter = minter;
    this.journal = journal;
    this.state = new AtomicReference<>(initial);
  }

  /**
   * A rotating trust domain starting from {@code initial}, active since its notBefore; new roots
   * come from {@code minter}; nothing is persisted.
   *
   * @throws ConfigException when the JWT key cannot be generated, or the periods do not fit the
   *     CA's lifetime ({@code leadTime + rotationPeriod + maxTtl > caValidity})
   */
  public static RootRotation rotating(Crypto crypto, Clock clock, CertificateAuthority initial, Options options,
      Minter minter) throws ConfigException {
    checkPeriods(initial, options);
    Stored first = new Stored(initial, JwtSigningKey.generate(crypto, options.jwtKeyAlgorithm()));
    return restore(crypto, clock, List.of(first), true, options, minter, Journal.NONE, 1);
  }

  /**
   * A rotating trust domain rebuilt from its persisted authorities, oldest first, at the clock's
   * now (see the class comment): each minted root activated a lead time after its notBefore plus
   * back-dating, and retired when the next one activated; the roots whose SVIDs have all expired
   * by now are left out (the journal's next {@link Journal#changed} sees them gone).
   *
   * @param firstIsInitial whether {@code stored.get(0)} is the trust domain's first root (active
   *     from its notBefore) rather than a minted one whose predecessors were dropped
   * @param sequence the {@code spiffe_sequence} of the rebuilt state; the caller makes it larger
   *     than any served before (e.g. the time in seconds)
   * @throws ConfigException when the periods do not fit the active root's lifetime, or the roots
   *     do not form a schedule (activations out of order, more than one root waiting its turn)
   */
  public static RootRotation restore(Crypto crypto, Clock clock, List<Stored> stored, boolean firstIsInitial,
      Options options, Minter minter, Journal journal, long sequence) throws ConfigException {
    Objects.requireNonNull(crypto, "crypto");
    Objects.requireNonNull(clock, "clock");
    Objects.requireNonNull(options, "options");
    Objects.requireNonNull(minter, "minter");
    Objects.requireNonNull(journal, "journal");
    if (stored.isEmpty()) {
      throw new IllegalArgumentException("no authority to restore");
    }
    String trustDomain = stored.get(0).ca().trustDomain();
    List<TrustBundle.Authority> scheduled = new ArrayList<>();
    for (int i = 0; i < stored.size(); i++) {
      Stored s = stored.get(i);
      if (!s.ca().trustDomain().equals(trustDomain)) {
        throw ConfigException.forSetting("ca.dir", s.ca() + " is not of trust domain " + trustDomain);
      }
      TrustBundle.Authority authority = i == 0 && firstIsInitial
          ? initial(s.ca(), s.jwtKey())
          : minted(s.ca(), s.jwtKey(), options);
      if (!scheduled.isEmpty() && !authority.activeFrom().isAfter(scheduled.getLast().activeFrom())) {
        throw ConfigException.forSetting("ca.dir", s.ca() + " would sign from " + authority.activeFrom()
            + ", not after the root before it (" + scheduled.getLast().activeFrom() + "); the roots are out of order");
      }
      scheduled.add(authority);
    }
    Instant now = clock.now();
    int active = 0;
    while (active + 1 < scheduled.size() && !now.isBefore(scheduled.get(active + 1).activeFrom())) {
      active++;
    }
    if (scheduled.size() - active > 2) {
      throw ConfigException.forSetting("ca.dir", (scheduled.size() - active - 1) + " roots wait for their turn after "
          + scheduled.get(active).ca() + "; a rotation prepares one at a time");
    }
    checkPeriods(scheduled.get(active).ca(), options);
    List<TrustBundle.Authority> kept = new ArrayList<>();
    for (int i = 0; i < scheduled.size(); i++) {
      TrustBundle.Authority authority = scheduled.get(i);
      if (i < active) {
        authority = retired(authority, scheduled.get(i + 1).activeFrom());
        if (!now.isBefore(authority.dropAt())) {
          continue;
        }
      }
      kept.add(authority);
    }
    TrustBundle bundle = new TrustBundle(trustDomain, sequence, kept, scheduled.get(active));
    return new RootRotation(crypto, clock, options, minter, journal, bundle);
  }

  /** One authority that never rotates (a plugged-in CA, rotated by its operator through its files). */
  public static RootRotation fixed(Crypto crypto, Clock clock, CertificateAuthority ca, KeyAlgorithm jwtKeyAlgorithm)
      throws ConfigException {
    return fixed(crypto, clock, ca, jwtKeyAlgorithm, 1);
  }

  /** As {@link #fixed(Crypto, Clock, CertificateAuthority, KeyAlgorithm)}, starting at {@code sequence}. */
  public static RootRotation fixed(Crypto crypto, Clock clock, CertificateAuthority ca, KeyAlgorithm jwtKeyAlgorithm,
      long sequence) throws ConfigException {
    Options options = Options.DEFAULTS;
    TrustBundle.Authority authority = initial(ca, JwtSigningKey.generate(crypto, jwtKeyAlgorithm));
    return new RootRotation(crypto, clock, new Options(options.rotationPeriod(), options.leadTime(), jwtKeyAlgorithm),
        null, Journal.NONE, new TrustBundle(ca.trustDomain(), sequence, List.of(authority), authority));
  }

  private static void checkPeriods(CertificateAuthority ca, Options options) throws ConfigException {
    CaOptions caOptions = ca.options();
    Duration turn = options.leadTime().plus(options.rotationPeriod()).plus(caOptions.maxTtl());
    if (turn.compareTo(caOptions.caValidity()) > 0) {
      throw ConfigException.forSetting("ca.rotation_period", "lead time " + options.leadTime() + " + rotation period "
          + options.rotationPeriod() + " + max TTL " + caOptions.maxTtl() + " is longer than the root validity "
          + caOptions.caValidity() + "; a new root would expire before its last SVID");
    }
  }

  /** The trust domain's first root: published and signing from its notBefore. */
  private static TrustBundle.Authority initial(CertificateAuthority ca, JwtSigningKey jwtKey) {
    Instant since = ca.signingCertificate().getNotBefore().toInstant();
    return new TrustBundle.Authority(ca, jwtKey, since, since, null, null);
  }

  /** A minted root: published when it was made, signing a lead time later. */
  private static TrustBundle.Authority minted(CertificateAuthority ca, JwtSigningKey jwtKey, Options options) {
    Instant published = mintedAt(ca);
    return new TrustBundle.Authority(ca, jwtKey, published, published.plus(options.leadTime()), null, null);
  }

  /** When a self-signed root was made: its notBefore is that instant back-dated. */
  private static Instant mintedAt(CertificateAuthority ca) {
    return ca.signingCertificate().getNotBefore().toInstant().plus(ca.options().backdate());
  }

  /** {@code authority} retired when its successor activated; it leaves when its last SVID has expired. */
  private static TrustBundle.Authority retired(TrustBundle.Authority authority, Instant at) {
    return authority.retire(at, min(at.plus(authority.ca().options().maxTtl()), authority.signingNotAfter()));
  }

  /** The current state; lock-free. */
  public TrustBundle current() {
    return state.get();
  }

  /**
   * The authority that signs now: the active one of {@link #current()}, or the prepared one once
   * its turn has come even if no tick has recorded it yet. Lock-free.
   */
  public TrustBundle.Authority active() {
    return activeAt(state.get(), clock.now());
  }

  private static TrustBundle.Authority activeAt(TrustBundle bundle, Instant now) {
    TrustBundle.Authority prepared = prepared(bundle);
    return prepared != null && !now.isBefore(prepared.activeFrom()) ? prepared : bundle.active();
  }

  /** The authority that signs now. */
  public CertificateAuthority signer() {
    return active().ca();
  }

  public String trustDomain() {
    return state.get().trustDomain();
  }

  /** Whether new roots are minted here ({@link #rotating}, {@link #restore}) rather than plugged in ({@link #fixed}). */
  public boolean isRotating() {
    return minter != null;
  }

  public Options options() {
    return options;
  }

  /** {@link CertificateAuthority#issue} by the authority that signs now, the leaf dated from the same instant. */
  public IssueResult issue(byte[] csr, SpiffeId caller, Duration ttl) {
    Instant now = clock.now();
    return activeAt(state.get(), now).ca().issueAt(csr, caller, ttl, now);
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
   * whose SVIDs have all expired, prepare the next root. Never throws: a failure to mint or to
   * persist a new root is logged and retried at the next tick (the active root keeps signing).
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
      if (changed != null) {
        journalChanged(changed);
      }
    }
    if (changed != null) {
      tell(changed);
    }
    return changed != null;
  }

  /**
   * Swaps the authority of a {@link #fixed} rotation for {@code ca} (its files were re-read),
   * keeping the JWT key; the bundle becomes {@code ca}'s roots and the sequence grows.
   *
   * @throws IllegalStateException on a rotating instance
   * @throws IllegalArgumentException when {@code ca} is of another trust domain
   */
  public void replace(CertificateAuthority ca) {
    Objects.requireNonNull(ca, "ca");
    if (minter != null) {
      throw new IllegalStateException("a rotating trust domain mints its own roots; replace() is for plugged-in CAs");
    }
    TrustBundle next;
    synchronized (tickLock) {
      TrustBundle current = state.get();
      if (!ca.trustDomain().equals(current.trustDomain())) {
        throw new IllegalArgumentException(ca + " is not of trust domain " + current.trustDomain());
      }
      Instant now = clock.now();
      TrustBundle.Authority authority = new TrustBundle.Authority(ca, current.active().jwtKey(), now, now, null, null);
      next = new TrustBundle(current.trustDomain(), current.sequence() + 1, List.of(authority), authority);
      state.set(next);
      journalChanged(next);
    }
    tell(next);
  }

  private void journalChanged(TrustBundle bundle) {
    try {
      journal.changed(bundle);
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, "recording the roots of " + bundle.trustDomain() + " failed", e);
    }
  }

  private void tell(TrustBundle changed) {
    for (Consumer<TrustBundle> listener : listeners) {
      try {
        listener.accept(changed);
      } catch (RuntimeException e) {
        LOG.log(Level.WARNING, "a root rotation listener failed", e);
      }
    }
  }

  /** The next state after one transition due at {@code now}, or null when none is due. */
  private TrustBundle step(TrustBundle current, Instant now) {
    TrustBundle.Authority active = current.active();
    TrustBundle.Authority prepared = prepared(current);
    List<TrustBundle.Authority> authorities = new ArrayList<>(current.authorities());

    if (prepared != null && !now.isBefore(prepared.activeFrom())) {
      // Retired at the successor's activation, not at this tick: issue() stopped using it then.
      TrustBundle.Authority retired = retired(active, prepared.activeFrom());
      authorities.set(authorities.indexOf(active), retired);
      LOG.info(() -> "root rotation in " + current.trustDomain() + ": " + prepared.ca() + " signs from "
          + prepared.activeFrom() + "; " + active.ca() + " retires and leaves the bundle at " + retired.dropAt());
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
      TrustBundle.Authority next;
      try {
        CertificateAuthority ca = minter.mint();
        if (!ca.trustDomain().equals(current.trustDomain())) {
          LOG.warning(() -> "root rotation: the minter made a root of " + ca.trustDomain() + ", not of "
              + current.trustDomain() + "; it is not published");
          return null;
        }
        if (mintedAt(ca).isBefore(now.minus(MAX_MINT_AGE))) {
          LOG.warning(() -> "root rotation: the minter returned " + ca + ", made at " + mintedAt(ca)
              + ", not now; it is not published (its lead time would be short)");
          return null;
        }
        next = minted(ca, JwtSigningKey.generate(crypto, options.jwtKeyAlgorithm()), options);
        journal.publishing(next);
      } catch (ConfigException | RuntimeException e) {
        LOG.log(Level.WARNING, "root rotation in " + current.trustDomain()
            + ": cannot make the next root; the active one keeps signing and the next tick tries again", e);
        return null;
      }
      authorities.add(next);
      LOG.info(() -> "root rotation in " + current.trustDomain() + ": published " + next.ca() + ", which signs from "
          + next.activeFrom());
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
