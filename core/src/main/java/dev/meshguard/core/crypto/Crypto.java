package dev.meshguard.core.crypto;

import dev.meshguard.core.config.ConfigException;
import java.security.GeneralSecurityException;
import java.security.InvalidAlgorithmParameterException;
import java.security.InvalidKeyException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Security;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.spec.AlgorithmParameterSpec;
import java.util.Objects;
import org.bouncycastle.crypto.CryptoServicesRegistrar;
import org.bouncycastle.crypto.fips.FipsStatus;
import org.bouncycastle.crypto.fips.FipsUnapprovedOperationError;
import org.bouncycastle.jcajce.provider.BouncyCastleFipsProvider;
import org.bouncycastle.jsse.provider.BouncyCastleJsseProvider;

/**
 * The one place that installs and chooses cryptographic providers. Every other class asks a
 * {@code Crypto} for its TLS provider, key stores, key factories, random numbers, key pairs and
 * signatures, so that FIPS mode cannot be bypassed by a stray {@code getInstance} call.
 *
 * <h2>FIPS mode</h2>
 *
 * Approved-only mode of the Bouncy Castle FIPS module is JVM-wide and one-way: it is read from
 * the system property {@value #APPROVED_ONLY_PROPERTY} when the module's classes load, and can
 * never be switched off afterwards. So {@code main()} calls {@link #requestApprovedOnlyMode()}
 * before anything touches a Bouncy Castle class (or the launcher passes {@code -D...}), and
 * {@link #install(CryptoMode) install(FIPS)} refuses to start unless the module really is in
 * approved-only mode and has passed its power-on self-test. It then puts {@code BCFIPS} at
 * provider position 1 and {@code BCJSSE} (in FIPS mode, on BCFIPS) at 2.
 *
 * <h2>Default mode</h2>
 *
 * The JDK's providers stay first and TLS is SunJSSE; BCFIPS is added last, so the Bouncy Castle
 * PKIX classes (PEM, X.509 building) have their provider without changing any JDK default.
 *
 * <p>Because providers are JVM-global, one JVM runs one mode: installing the other mode later is
 * an {@link IllegalStateException}. Tests of both modes therefore run in separate JVMs.
 */
public final class Crypto {

  /** The Bouncy Castle FIPS system property that switches on approved-only mode for the JVM. */
  public static final String APPROVED_ONLY_PROPERTY = "org.bouncycastle.fips.approved_only";
  /** The configuration setting (and {@code --fips} flag) that selects {@link CryptoMode#FIPS}. */
  public static final String FIPS_SETTING = "fips";

  static final String BCFIPS = "BCFIPS";
  static final String BCJSSE = "BCJSSE";
  static final String SUN_JSSE = "SunJSSE";

  private static final Object LOCK = new Object();
  private static Crypto installed; // guarded by LOCK

  private final CryptoMode mode;
  /** Explicit provider for keys, certificates, key stores and signatures; null = JDK order. */
  private final Provider jcaProvider;
  private final Provider tlsProvider;
  private final SecureRandom secureRandom;

  private Crypto(CryptoMode mode, Provider jcaProvider, Provider tlsProvider, SecureRandom secureRandom) {
    this.mode = mode;
    this.jcaProvider = jcaProvider;
    this.tlsProvider = tlsProvider;
    this.secureRandom = secureRandom;
  }

  /**
   * Sets {@value #APPROVED_ONLY_PROPERTY}{@code =true}. Call it first thing in {@code main()}
   * when FIPS mode is configured: it only takes effect if no Bouncy Castle class has loaded yet.
   * {@link #install(CryptoMode) install(FIPS)} detects (and refuses) the case where it was too late.
   */
  public static void requestApprovedOnlyMode() {
    System.setProperty(APPROVED_ONLY_PROPERTY, "true");
  }

  /**
   * Installs the providers of {@code mode}; idempotent per JVM.
   *
   * @throws ConfigException naming the setting {@value #FIPS_SETTING} when FIPS mode is asked for
   *     but the JVM is not in approved-only mode or the FIPS module failed its self-test
   * @throws IllegalStateException when the other mode was installed in this JVM already
   */
  public static Crypto install(CryptoMode mode) throws ConfigException {
    Objects.requireNonNull(mode, "mode");
    synchronized (LOCK) {
      if (installed != null) {
        if (installed.mode != mode) {
          throw new IllegalStateException("crypto mode " + installed.mode + " is installed in this JVM;"
              + " cannot switch to " + mode + " (providers and approved-only mode are JVM-wide)");
        }
        return installed;
      }
      installed = mode == CryptoMode.FIPS ? installFips() : installDefault();
      return installed;
    }
  }

  private static Crypto installFips() throws ConfigException {
    String problem = fipsStartupProblem(System.getProperty(APPROVED_ONLY_PROPERTY),
        CryptoServicesRegistrar.isInApprovedOnlyMode(), FipsStatus.isReady(), FipsStatus.getStatusMessage());
    if (problem != null) {
      throw ConfigException.forSetting(FIPS_SETTING, problem);
    }
    // Reuse an instance configured through java.security, if any, but move it to the front.
    Provider fips = Security.getProvider(BCFIPS);
    if (fips == null) {
      fips = new BouncyCastleFipsProvider();
    } else {
      Security.removeProvider(BCFIPS);
    }
    Security.insertProviderAt(fips, 1);
    // A BCJSSE configured elsewhere may not be in FIPS mode; ours always is.
    Security.removeProvider(BCJSSE);
    Provider jsse = new BouncyCastleJsseProvider("fips:" + BCFIPS);
    Security.insertProviderAt(jsse, 2);
    try {
      // SP 800-90A DRBG (a SHA-512 Hash DRBG with prediction resistance in BC-FJA 2.1).
      SecureRandom drbg = SecureRandom.getInstance("DEFAULT", fips);
      // The registrar's default random is what the low-level BC APIs use when given none. It must
      // be the module's own FipsSecureRandom: registering a JCA SecureRandom (even this DRBG)
      // makes BCFIPS report an unknown random strength, after which every key generation in
      // approved-only mode fails with "FIPS SecureRandom security strength not as high as
      // required" (probed with bc-fips 2.1.0).
      CryptoServicesRegistrar.setSecureRandom(((BouncyCastleFipsProvider) fips).getDefaultSecureRandom());
      return new Crypto(CryptoMode.FIPS, fips, jsse, drbg);
    } catch (NoSuchAlgorithmException e) {
      throw ConfigException.forSetting(FIPS_SETTING, "the Bouncy Castle FIPS provider has no DEFAULT DRBG: " + e.getMessage());
    }
  }

  private static Crypto installDefault() {
    Provider fips = Security.getProvider(BCFIPS);
    if (fips == null) {
      fips = new BouncyCastleFipsProvider();
      Security.addProvider(fips);
    }
    if (fips instanceof BouncyCastleFipsProvider bc) {
      // Low-level BC APIs (bcpkix builders without a random) need a registrar default.
      CryptoServicesRegistrar.setSecureRandom(bc.getDefaultSecureRandom());
    }
    Provider jsse = Security.getProvider(SUN_JSSE);
    if (jsse == null) {
      throw new IllegalStateException("the JDK provider " + SUN_JSSE + " is not installed");
    }
    return new Crypto(CryptoMode.DEFAULT, null, jsse, new SecureRandom());
  }

  /**
   * Why FIPS mode cannot start, or null when it can. Pure, so every branch is unit-tested; the
   * real values can only be observed once per JVM.
   */
  static String fipsStartupProblem(String property, boolean approvedOnly, boolean ready, String status) {
    if (!"true".equalsIgnoreCase(property)) {
      return "FIPS mode needs the JVM in Bouncy Castle approved-only mode, but -D" + APPROVED_ONLY_PROPERTY
          + "=true is not set; start the JVM with it (the meshguard launcher does for --fips) or set fips: false";
    }
    if (!approvedOnly) {
      return "FIPS mode needs the JVM in Bouncy Castle approved-only mode, but " + APPROVED_ONLY_PROPERTY
          + "=true was set after the FIPS module had loaded; pass it on the java command line, or call"
          + " Crypto.requestApprovedOnlyMode() before anything else in main()";
    }
    if (!ready) {
      return "the Bouncy Castle FIPS module failed its power-on self-test (" + status + "); check that"
          + " bc-fips is on the class path as the unmodified, signed jar (never shaded or repackaged)";
    }
    return null;
  }

  public CryptoMode mode() {
    return mode;
  }

  public boolean isFips() {
    return mode == CryptoMode.FIPS;
  }

  /** The random source for keys, nonces and TLS: BCFIPS's SP 800-90A DRBG in FIPS mode. */
  public SecureRandom secureRandom() {
    return secureRandom;
  }

  /** The JSSE provider every TLS context must use: BCJSSE in FIPS mode, SunJSSE otherwise. */
  public Provider tlsProvider() {
    return tlsProvider;
  }

  /** {@code BCFKS} in FIPS mode (the module's approved key store), {@code PKCS12} otherwise. */
  public String keyStoreType() {
    return isFips() ? "BCFKS" : "PKCS12";
  }

  /** A new, empty, loaded key store of {@link #keyStoreType()} from the mode's provider. */
  public KeyStore newKeyStore() throws GeneralSecurityException {
    KeyStore store = jcaProvider == null
        ? KeyStore.getInstance(keyStoreType())
        : KeyStore.getInstance(keyStoreType(), jcaProvider);
    try {
      store.load(null, null);
    } catch (java.io.IOException e) {
      throw new java.security.KeyStoreException("cannot initialise an empty " + keyStoreType() + " key store", e);
    }
    return store;
  }

  /** The X.509 certificate factory of the mode's provider. */
  public CertificateFactory certificateFactory() throws CertificateException {
    return jcaProvider == null
        ? CertificateFactory.getInstance("X.509")
        : CertificateFactory.getInstance("X.509", jcaProvider);
  }

  /** A key factory ({@code EC}, {@code RSA}) of the mode's provider. */
  public KeyFactory keyFactory(String algorithm) throws NoSuchAlgorithmException {
    return jcaProvider == null ? KeyFactory.getInstance(algorithm) : KeyFactory.getInstance(algorithm, jcaProvider);
  }

  /**
   * Generates a key pair of an approved type.
   *
   * @param setting the configuration key that chose {@code algorithm}, named in errors
   * @throws ConfigException when the provider refuses the algorithm (e.g. the FIPS module's
   *     {@code FipsUnapprovedOperationError}), naming the setting and the algorithm
   */
  public KeyPair generateKeyPair(String setting, KeyAlgorithm algorithm) throws ConfigException {
    return generateKeyPair(setting, algorithm.configName(), algorithm.jcaAlgorithm(), algorithm.bits(),
        algorithm.generatorSpec());
  }

  /**
   * The unchecked core of {@link #generateKeyPair(String, KeyAlgorithm)}: any JCA algorithm and
   * size, so tests can show that the module's own refusal (RSA-1024) is reported as a
   * {@link ConfigException} too.
   */
  KeyPair generateKeyPair(String setting, String label, String jcaAlgorithm, int bits, AlgorithmParameterSpec spec)
      throws ConfigException {
    try {
      KeyPairGenerator generator = jcaProvider == null
          ? KeyPairGenerator.getInstance(jcaAlgorithm)
          : KeyPairGenerator.getInstance(jcaAlgorithm, jcaProvider);
      if (spec != null) {
        generator.initialize(spec, secureRandom);
      } else {
        generator.initialize(bits, secureRandom);
      }
      return generator.generateKeyPair();
    } catch (FipsUnapprovedOperationError e) {
      throw refused(setting, "key algorithm", label, e);
    } catch (NoSuchAlgorithmException | InvalidAlgorithmParameterException | IllegalArgumentException e) {
      throw refused(setting, "key algorithm", label, e);
    }
  }

  /**
   * Signs {@code data}. In FIPS mode the algorithm is first checked against
   * {@link ApprovedAlgorithms}; whatever the provider still refuses is reported the same way.
   *
   * @param setting the configuration key that chose {@code signatureAlgorithm}, named in errors
   * @throws ConfigException naming the setting and the algorithm when it is not approved, not
   *     available, or does not fit the key
   */
  public byte[] sign(String setting, String signatureAlgorithm, PrivateKey key, byte[] data) throws ConfigException {
    if (isFips()) {
      ApprovedAlgorithms.requireApproved(setting, signatureAlgorithm);
    }
    return signUnchecked(setting, signatureAlgorithm, key, data);
  }

  /** {@link #sign} without the list check, so tests reach the FIPS module's own refusal. */
  byte[] signUnchecked(String setting, String signatureAlgorithm, PrivateKey key, byte[] data) throws ConfigException {
    try {
      Signature signature = jcaProvider == null
          ? Signature.getInstance(signatureAlgorithm)
          : Signature.getInstance(signatureAlgorithm, jcaProvider);
      signature.initSign(key, secureRandom);
      signature.update(data);
      return signature.sign();
    } catch (FipsUnapprovedOperationError e) {
      throw refused(setting, "signature algorithm", signatureAlgorithm, e);
    } catch (InvalidKeyException e) {
      throw ConfigException.forSetting(setting, "signature algorithm \"" + signatureAlgorithm
          + "\" cannot sign with this " + key.getAlgorithm() + " key: " + e.getMessage());
    } catch (GeneralSecurityException e) {
      throw refused(setting, "signature algorithm", signatureAlgorithm, e);
    }
  }

  /** Verifies a signature with the mode's provider. */
  public boolean verify(String signatureAlgorithm, PublicKey key, byte[] data, byte[] signatureBytes)
      throws GeneralSecurityException {
    Signature signature = jcaProvider == null
        ? Signature.getInstance(signatureAlgorithm)
        : Signature.getInstance(signatureAlgorithm, jcaProvider);
    signature.initVerify(key);
    signature.update(data);
    return signature.verify(signatureBytes);
  }

  // FipsUnapprovedOperationError is an Error, so it would otherwise escape every catch of
  // Exception and kill a start-up (or a netty event loop) with a stack trace instead of a
  // message that names the setting.
  private ConfigException refused(String setting, String kind, String algorithm, Throwable cause) {
    String how = cause instanceof FipsUnapprovedOperationError
        ? "is not approved in FIPS mode"
        : "is not available in " + mode + " mode";
    ConfigException e = ConfigException.forSetting(setting,
        kind + " \"" + algorithm + "\" " + how + ": " + cause.getMessage());
    e.initCause(cause);
    return e;
  }

  @Override
  public String toString() {
    return "Crypto[" + mode + ", TLS " + tlsProvider.getName() + ", key store " + keyStoreType() + "]";
  }
}
