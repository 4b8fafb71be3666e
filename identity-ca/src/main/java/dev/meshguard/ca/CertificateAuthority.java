package dev.meshguard.ca;

import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.KeyAlgorithm;
import dev.meshguard.core.spiffe.InvalidSpiffeIdException;
import dev.meshguard.core.spiffe.SpiffeId;
import dev.meshguard.core.time.Clock;
import dev.meshguard.core.tls.PemFiles;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.AuthorityKeyIdentifier;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectKeyIdentifier;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v3CertificateBuilder;

/**
 * A SPIFFE certificate authority: one signing certificate and key, the chain from it to the
 * root, and the issuance policy. Immutable and thread-safe once built; {@link #issue} never
 * throws and never logs per request.
 *
 * <p>Leaves follow the X.509-SVID standard and RFC 5280 (identity-ca.md §1): empty subject,
 * one critical SAN holding the SPIFFE ID (plus configured DNS names), {@code basicConstraints
 * CA:FALSE} critical, key usage critical with digitalSignature (and keyEncipherment for RSA
 * keys), EKU serverAuth + clientAuth, AKI = the issuer's SKI, a random positive serial of at most
 * 20 octets, {@code notBefore} back-dated by {@link CaOptions#backdate()}, and {@code notAfter}
 * clamped to the issuer's.
 *
 * @see <a href="https://github.com/spiffe/spiffe/blob/main/standards/X509-SVID.md">X509-SVID</a>
 */
public final class CertificateAuthority {
  private static final Logger LOG = Logger.getLogger(CertificateAuthority.class.getName());
  /** 159 random bits: always positive and at most 20 octets in DER (RFC 5280 §4.1.2.2). */
  private static final int SERIAL_BITS = 159;

  private final Crypto crypto;
  private final Clock clock;
  private final CaOptions options;
  private final String trustDomain;
  private final X509Certificate signingCertificate;
  private final PrivateKey signingKey;
  private final String signatureAlgorithm;
  /** The signing certificate up to the root, root last. */
  private final List<X509Certificate> caChain;
  private final List<X509Certificate> roots;
  private final AuthorityKeyIdentifier authorityKeyIdentifier;
  private final CsrPolicy policy;

  private CertificateAuthority(Crypto crypto, Clock clock, CaOptions options, String trustDomain,
      X509Certificate signingCertificate, PrivateKey signingKey, KeyAlgorithm keyAlgorithm,
      List<X509Certificate> caChain, List<X509Certificate> roots) {
    this.crypto = crypto;
    this.clock = clock;
    this.options = options;
    this.trustDomain = trustDomain;
    this.signingCertificate = signingCertificate;
    this.signingKey = signingKey;
    this.signatureAlgorithm = keyAlgorithm.signatureAlgorithm();
    this.caChain = List.copyOf(caChain);
    this.roots = List.copyOf(roots);
    this.authorityKeyIdentifier = new AuthorityKeyIdentifier(keyIdentifier(signingCertificate));
    this.policy = new CsrPolicy(crypto, trustDomain, options);
  }

  /**
   * Creates a self-signed root CA in {@code dir} (Istio layout, key file 0600) and returns it.
   * The root's only SAN is the trust domain's SPIFFE ID ({@code spiffe://td}, no path).
   *
   * @throws ConfigException when {@code dir} holds a CA already, the trust domain is invalid, the
   *     key type is refused in this crypto mode, or a file cannot be written
   */
  public static CertificateAuthority init(Crypto crypto, Clock clock, Path dir, String trustDomain,
      KeyAlgorithm keyAlgorithm, CaOptions options) throws ConfigException {
    Objects.requireNonNull(keyAlgorithm, "keyAlgorithm");
    String problem = SpiffeId.validateTrustDomain(Objects.requireNonNull(trustDomain, "trustDomain"));
    if (problem != null) {
      throw ConfigException.forSetting("ca.trust_domain", "\"" + trustDomain + "\": " + problem);
    }
    CaDirectory.requireEmpty(dir);
    KeyPair keyPair = crypto.generateKeyPair(CaSigner.SETTING, keyAlgorithm);
    X509Certificate root = newRoot(crypto, clock, trustDomain, keyAlgorithm, options, keyPair);
    byte[] pkcs8 = keyPair.getPrivate().getEncoded();
    String rootPem = PemText.certificate(root);
    CaDirectory.write(dir, pkcs8, rootPem, rootPem, rootPem);
    // Logs the certificate, never the key.
    LOG.info(() -> "created a " + keyAlgorithm + " root CA for trust domain " + trustDomain + " in " + dir
        + ", serial " + root.getSerialNumber().toString(16) + ", valid until " + root.getNotAfter().toInstant());
    return new CertificateAuthority(crypto, clock, options, trustDomain, root, keyPair.getPrivate(), keyAlgorithm,
        List.of(root), List.of(root));
  }

  /**
   * Creates a self-signed root CA in memory only, as {@link #init} does but writing nothing: the
   * next root of a {@link RootRotation}, whose key never leaves the process.
   *
   * @throws ConfigException when the trust domain is invalid or the key type is refused in this
   *     crypto mode
   */
  public static CertificateAuthority selfSigned(Crypto crypto, Clock clock, String trustDomain,
      KeyAlgorithm keyAlgorithm, CaOptions options) throws ConfigException {
    Objects.requireNonNull(keyAlgorithm, "keyAlgorithm");
    String problem = SpiffeId.validateTrustDomain(Objects.requireNonNull(trustDomain, "trustDomain"));
    if (problem != null) {
      throw ConfigException.forSetting("ca.trust_domain", "\"" + trustDomain + "\": " + problem);
    }
    KeyPair keyPair = crypto.generateKeyPair(CaSigner.SETTING, keyAlgorithm);
    X509Certificate root = newRoot(crypto, clock, trustDomain, keyAlgorithm, options, keyPair);
    return new CertificateAuthority(crypto, clock, options, trustDomain, root, keyPair.getPrivate(), keyAlgorithm,
        List.of(root), List.of(root));
  }

  /** The self-signed root certificate of {@code keyPair}: valid from now (back-dated) for {@link CaOptions#caValidity()}. */
  private static X509Certificate newRoot(Crypto crypto, Clock clock, String trustDomain, KeyAlgorithm keyAlgorithm,
      CaOptions options, KeyPair keyPair) throws ConfigException {
    Instant now = clock.now();
    BigInteger serial = randomSerial(crypto);
    X500Name subject = new X500NameBuilder(BCStyle.INSTANCE)
        .addRDN(BCStyle.O, "meshguard")
        .addRDN(BCStyle.OU, trustDomain)
        // The serial prefix keeps the subjects of successive roots distinct for chain building.
        .addRDN(BCStyle.CN, "meshguard root CA " + serial.toString(16).substring(0, 8))
        .build();
    X509v3CertificateBuilder builder = new X509v3CertificateBuilder(subject, serial,
        Date.from(now.minus(options.backdate())), Date.from(now.plus(options.caValidity())), subject,
        SubjectPublicKeyInfo.getInstance(keyPair.getPublic().getEncoded()));
    X509Certificate root;
    try {
      builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
      builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      builder.addExtension(Extension.subjectKeyIdentifier, false, new SubjectKeyIdentifier(keyId(keyPair.getPublic())));
      // The subject is not empty, so the SAN is not critical (RFC 5280 §4.2.1.6).
      builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(
          new GeneralName(GeneralName.uniformResourceIdentifier, SpiffeId.SCHEME_PREFIX + trustDomain)));
      root = toCertificate(crypto, builder.build(new CaSigner(crypto, keyAlgorithm.signatureAlgorithm(), keyPair.getPrivate())));
    } catch (CertIOException | RuntimeException e) {
      throw ConfigException.forSetting(CaSigner.SETTING, "cannot create the root certificate: " + e.getMessage());
    }
    return root;
  }

  /**
   * Loads a CA from {@code dir} in Istio's layout. The trust domain is the SPIFFE ID in the
   * signing certificate's URI SAN, or {@code trustDomain} when the certificate has none (a CA
   * made for istiod); when both exist they must agree.
   *
   * @throws ConfigException naming the file and what is wrong with it
   */
  public static CertificateAuthority load(Crypto crypto, Clock clock, Path dir, String trustDomain, CaOptions options)
      throws ConfigException {
    Path certFile = dir.resolve(CaDirectory.CA_CERT);
    Path keyFile = dir.resolve(CaDirectory.CA_KEY);
    Path chainFile = dir.resolve(CaDirectory.CERT_CHAIN);
    Path rootFile = dir.resolve(CaDirectory.ROOT_CERT);
    List<X509Certificate> certs = PemFiles.readCertificates(crypto, certFile);
    if (certs.size() != 1) {
      throw CaDirectory.error(certFile, "holds " + certs.size() + " certificates; expected the one signing certificate");
    }
    X509Certificate signing = certs.get(0);
    PrivateKey key = PemFiles.readPrivateKey(crypto, keyFile);
    List<X509Certificate> chain = PemFiles.readCertificates(crypto, chainFile);
    List<X509Certificate> roots = PemFiles.readCertificates(crypto, rootFile);

    if (signing.getBasicConstraints() < 0) {
      throw CaDirectory.error(certFile, "is not a CA certificate (basicConstraints cA is not true)");
    }
    boolean[] keyUsage = signing.getKeyUsage();
    if (keyUsage == null || keyUsage.length <= 5 || !keyUsage[5]) {
      throw CaDirectory.error(certFile, "lacks the keyCertSign key usage");
    }
    KeyAlgorithm keyAlgorithm = KeyAlgorithm.of(signing.getPublicKey()).orElseThrow(() -> CaDirectory.error(certFile,
        "has a " + KeyAlgorithm.describe(signing.getPublicKey()) + " key; the CA key must be one of ecdsa-p256,"
            + " ecdsa-p384, rsa-2048, rsa-3072, rsa-4096"));
    requireMatchingKey(crypto, keyFile, keyAlgorithm, key, signing.getPublicKey());
    if (!chain.get(0).equals(signing)) {
      throw CaDirectory.error(chainFile, "must start with the signing certificate of " + CaDirectory.CA_CERT);
    }
    for (int i = 0; i + 1 < chain.size(); i++) {
      if (!signedBy(crypto, chain.get(i), chain.get(i + 1))) {
        throw CaDirectory.error(chainFile, "certificate " + (i + 1) + " is not signed by certificate " + (i + 2));
      }
    }
    List<X509Certificate> fullChain = new ArrayList<>(chain);
    X509Certificate last = chain.get(chain.size() - 1);
    if (!roots.contains(last)) {
      X509Certificate root = roots.stream()
          .filter(r -> r.getSubjectX500Principal().equals(last.getIssuerX500Principal()) && signedBy(crypto, last, r))
          .findFirst()
          .orElseThrow(() -> CaDirectory.error(chainFile, "does not end at a root of " + CaDirectory.ROOT_CERT
              + " (its last certificate's issuer is " + last.getIssuerX500Principal() + ")"));
      fullChain.add(root);
    }
    String domain = trustDomainOf(certFile, signing, trustDomain);
    LOG.info(() -> "loaded a " + keyAlgorithm + " CA for trust domain " + domain + " from " + dir + ", serial "
        + signing.getSerialNumber().toString(16) + ", valid until " + signing.getNotAfter().toInstant());
    return new CertificateAuthority(crypto, clock, options, domain, signing, key, keyAlgorithm, fullChain, roots);
  }

  private static boolean signedBy(Crypto crypto, X509Certificate child, X509Certificate parent) {
    try {
      // A provider-independent check: verify(key) uses the certificate's own provider otherwise.
      return crypto.verify(child.getSigAlgName(), parent.getPublicKey(), child.getTBSCertificate(), child.getSignature());
    } catch (GeneralSecurityException | RuntimeException e) {
      return false;
    }
  }

  private static String trustDomainOf(Path certFile, X509Certificate signing, String configured) throws ConfigException {
    String fromCert = null;
    for (String uri : uriSans(signing)) {
      try {
        SpiffeId id = SpiffeId.parse(uri);
        if (!id.isTrustDomainId()) {
          throw CaDirectory.error(certFile, "has the SPIFFE ID " + uri + " with a path; a CA's SPIFFE ID has none (X509-SVID §3.2)");
        }
        fromCert = id.trustDomain();
      } catch (InvalidSpiffeIdException e) {
        // A non-SPIFFE URI on a plugged-in CA is not ours to judge.
      }
    }
    if (fromCert != null && configured != null && !fromCert.equals(configured)) {
      throw CaDirectory.error(certFile, "is the CA of trust domain " + fromCert + ", not of " + configured);
    }
    if (fromCert == null && configured == null) {
      throw CaDirectory.error(certFile, "has no SPIFFE ID URI SAN; give the trust domain explicitly");
    }
    return fromCert != null ? fromCert : configured;
  }

  private static void requireMatchingKey(Crypto crypto, Path keyFile, KeyAlgorithm algorithm, PrivateKey key,
      PublicKey publicKey) throws ConfigException {
    byte[] probe = "meshguard CA key check".getBytes(StandardCharsets.US_ASCII);
    boolean matches;
    try {
      byte[] signature = crypto.sign(CaSigner.SETTING, algorithm.signatureAlgorithm(), key, probe);
      matches = crypto.verify(algorithm.signatureAlgorithm(), publicKey, probe, signature);
    } catch (ConfigException | GeneralSecurityException | RuntimeException e) {
      matches = false;
    }
    if (!matches) {
      throw CaDirectory.error(keyFile, "is not the private key of " + CaDirectory.CA_CERT);
    }
  }

  /**
   * Issues a leaf for a caller whose identity was authenticated (by an mTLS SVID or a token).
   *
   * @param csr a PKCS#10 request, PEM or DER; any bytes (a refusal says what is wrong)
   * @param caller the authenticated identity, or null for none (refused UNAUTHENTICATED)
   * @param ttl the requested lifetime; null, zero or negative means {@link CaOptions#defaultTtl()}
   */
  public IssueResult issue(byte[] csr, SpiffeId caller, Duration ttl) {
    Objects.requireNonNull(csr, "csr");
    if (caller == null) {
      return new IssueResult.Refused(new Refusal(Refusal.Category.UNAUTHENTICATED, "the caller is not authenticated"));
    }
    return issueChecked(csr, caller, ttl, clock.now());
  }

  /**
   * {@link #issue} at {@code now}: a {@link RootRotation} picks the authority that signs at an
   * instant and has the leaf dated from the same instant, so no leaf of a retired root outlives
   * the drop time computed from its retirement.
   */
  IssueResult issueAt(byte[] csr, SpiffeId caller, Duration ttl, Instant now) {
    Objects.requireNonNull(csr, "csr");
    if (caller == null) {
      return new IssueResult.Refused(new Refusal(Refusal.Category.UNAUTHENTICATED, "the caller is not authenticated"));
    }
    return issueChecked(csr, caller, ttl, now);
  }

  /**
   * Offline issuance by an operator ({@code meshguard ca issue}): the CSR's own SPIFFE ID is
   * the identity; every other rule of the CSR policy holds.
   */
  public IssueResult issueForCsrIdentity(byte[] csr, Duration ttl) {
    Objects.requireNonNull(csr, "csr");
    return issueChecked(csr, null, ttl, clock.now());
  }

  private IssueResult issueChecked(byte[] csr, SpiffeId caller, Duration requestedTtl, Instant now) {
    Duration ttl = requestedTtl == null || requestedTtl.isZero() || requestedTtl.isNegative()
        ? options.defaultTtl() : requestedTtl;
    if (ttl.compareTo(options.maxTtl()) > 0) {
      return refused(Refusal.invalid("the requested TTL " + ttl + " is longer than the maximum " + options.maxTtl()));
    }
    CsrPolicy.Accepted accepted;
    switch (policy.check(csr, caller)) {
      case CsrPolicy.Rejected rejected -> {
        return refused(rejected.refusal());
      }
      case CsrPolicy.Accepted ok -> accepted = ok;
    }
    Instant issuerNotAfter = signingCertificate.getNotAfter().toInstant();
    if (!now.isBefore(issuerNotAfter)) {
      return refused(new Refusal(Refusal.Category.INTERNAL, "the CA certificate expired at " + issuerNotAfter));
    }
    Instant notAfter = now.plus(ttl);
    if (notAfter.isAfter(issuerNotAfter)) {
      notAfter = issuerNotAfter;
    }
    try {
      X509Certificate leaf = sign(accepted, now.minus(options.backdate()), notAfter);
      List<X509Certificate> chain = new ArrayList<>(caChain.size() + 1);
      chain.add(leaf);
      chain.addAll(caChain);
      return new IssueResult.Issued(chain, accepted.spiffeId(), accepted.keyAlgorithm());
    } catch (CertIOException | ConfigException | RuntimeException e) {
      LOG.log(Level.WARNING, "signing a leaf for " + accepted.spiffeId() + " failed", e);
      return refused(new Refusal(Refusal.Category.INTERNAL, "signing failed: " + e.getMessage()));
    }
  }

  private X509Certificate sign(CsrPolicy.Accepted accepted, Instant notBefore, Instant notAfter)
      throws CertIOException, ConfigException {
    X509v3CertificateBuilder builder = new X509v3CertificateBuilder(
        X500Name.getInstance(signingCertificate.getSubjectX500Principal().getEncoded()), randomSerial(crypto),
        Date.from(notBefore), Date.from(notAfter), new X500Name(new org.bouncycastle.asn1.x500.RDN[0]),
        SubjectPublicKeyInfo.getInstance(accepted.publicKey().getEncoded()));
    List<GeneralName> names = new ArrayList<>();
    names.add(new GeneralName(GeneralName.uniformResourceIdentifier, accepted.spiffeId().toString()));
    accepted.dnsNames().forEach(dns -> names.add(new GeneralName(GeneralName.dNSName, dns)));
    int keyUsage = KeyUsage.digitalSignature;
    if (accepted.keyAlgorithm().jcaAlgorithm().equals("RSA")) {
      keyUsage |= KeyUsage.keyEncipherment;
    }
    // Empty subject: the SAN must be critical (RFC 5280 §4.1.2.6; openssl -x509_strict checks it).
    builder.addExtension(Extension.subjectAlternativeName, true, new GeneralNames(names.toArray(GeneralName[]::new)));
    builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
    builder.addExtension(Extension.keyUsage, true, new KeyUsage(keyUsage));
    builder.addExtension(Extension.extendedKeyUsage, false,
        new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
    builder.addExtension(Extension.authorityKeyIdentifier, false, authorityKeyIdentifier);
    return toCertificate(crypto, builder.build(new CaSigner(crypto, signatureAlgorithm, signingKey)));
  }

  private static IssueResult refused(Refusal refusal) {
    return new IssueResult.Refused(refusal);
  }

  /** The trust domain this CA issues for. */
  public String trustDomain() {
    return trustDomain;
  }

  /** The certificate leaves are signed with. */
  public X509Certificate signingCertificate() {
    return signingCertificate;
  }

  /** The signing certificate up to the root, root last: what follows the leaf in every chain. */
  public List<X509Certificate> caChain() {
    return caChain;
  }

  /** The trust anchors of {@code root-cert.pem}: what goes into the SPIFFE bundle. */
  public List<X509Certificate> roots() {
    return roots;
  }

  public CaOptions options() {
    return options;
  }

  /** The signing key, for {@link RootStore} to persist; never logged. */
  PrivateKey signingKey() {
    return signingKey;
  }

  static BigInteger randomSerial(Crypto crypto) {
    BigInteger serial;
    do {
      serial = new BigInteger(SERIAL_BITS, crypto.secureRandom());
    } while (serial.signum() == 0);
    return serial;
  }

  /** RFC 7093 §2 method 1: the leftmost 160 bits of the SHA-256 of the subjectPublicKey bits. */
  static byte[] keyId(PublicKey key) {
    try {
      byte[] bits = SubjectPublicKeyInfo.getInstance(key.getEncoded()).getPublicKeyData().getBytes();
      return Arrays.copyOf(MessageDigest.getInstance("SHA-256").digest(bits), 20);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("no SHA-256", e);
    }
  }

  /** The issuer's own SKI when it has one (a plugged-in CA may use SHA-1 key IDs), else computed. */
  private static byte[] keyIdentifier(X509Certificate issuer) {
    byte[] extension = issuer.getExtensionValue(Extension.subjectKeyIdentifier.getId());
    if (extension != null) {
      return SubjectKeyIdentifier.getInstance(ASN1OctetString.getInstance(extension).getOctets()).getKeyIdentifier();
    }
    return keyId(issuer.getPublicKey());
  }

  private static X509Certificate toCertificate(Crypto crypto, X509CertificateHolder holder) {
    try {
      return (X509Certificate) crypto.certificateFactory().generateCertificate(new ByteArrayInputStream(holder.getEncoded()));
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalStateException("cannot parse a certificate this CA built", e);
    }
  }

  static List<String> uriSans(X509Certificate certificate) {
    Collection<List<?>> sans;
    try {
      sans = certificate.getSubjectAlternativeNames();
    } catch (CertificateParsingException e) {
      return List.of();
    }
    if (sans == null) {
      return List.of();
    }
    List<String> uris = new ArrayList<>();
    for (List<?> san : sans) {
      if (Integer.valueOf(GeneralName.uniformResourceIdentifier).equals(san.get(0))) {
        uris.add((String) san.get(1));
      }
    }
    return uris;
  }

  @Override
  public String toString() {
    return "CertificateAuthority[" + trustDomain + ", serial " + HexFormat.of().formatHex(
        signingCertificate.getSerialNumber().toByteArray()) + ", " + signatureAlgorithm + "]";
  }
}
