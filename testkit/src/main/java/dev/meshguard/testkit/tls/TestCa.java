package dev.meshguard.testkit.tls;

import java.math.BigInteger;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Objects;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;

/**
 * A throw-away SPIFFE certificate authority for tests: a self-signed CA certificate whose only
 * URI SAN is the trust domain's SPIFFE ID ({@code spiffe://td}), {@code CA:TRUE}, key usage
 * {@code keyCertSign, cRLSign} (X509-SVID §4.3), and leaves with one SPIFFE ID each.
 *
 * <p>Create a second, unrelated {@code TestCa} (same or other trust domain) for negative tests:
 * each CA has its own key and a unique subject name, so nothing one issues chains to the other.
 *
 * <p>Works in a JVM in Bouncy Castle approved-only mode: everything then goes through BCFIPS.
 */
public final class TestCa {

  /** How far {@code notBefore} is back-dated, as istiod does, so clock skew does not bite. */
  static final Duration BACKDATE = Duration.ofMinutes(1);
  static final Duration CA_LIFETIME = Duration.ofDays(30);
  /** Default leaf lifetime: long enough for any test, short enough to look like a real SVID. */
  public static final Duration DEFAULT_LEAF_LIFETIME = Duration.ofDays(1);

  private final String trustDomain;
  private final KeyType keyType;
  private final KeyPair keyPair;
  private final X509Certificate certificate;

  private TestCa(String trustDomain, KeyType keyType, KeyPair keyPair, X509Certificate certificate) {
    this.trustDomain = trustDomain;
    this.keyType = keyType;
    this.keyPair = keyPair;
    this.certificate = certificate;
  }

  /** A CA for {@code trustDomain} (e.g. {@code cluster.local}) with an ECDSA P-256 key. */
  public static TestCa create(String trustDomain) {
    return create(trustDomain, KeyType.EC_P256);
  }

  public static TestCa create(String trustDomain, KeyType keyType) {
    Objects.requireNonNull(trustDomain, "trustDomain");
    Objects.requireNonNull(keyType, "keyType");
    if (trustDomain.isEmpty() || trustDomain.contains("/") || trustDomain.contains(":")) {
      throw new IllegalArgumentException("trustDomain must be a bare trust domain name, got \"" + trustDomain + "\"");
    }
    FixtureCrypto crypto = FixtureCrypto.get();
    KeyPair keyPair = crypto.generate(keyType);
    BigInteger serial = Serials.random(crypto.random());
    // A unique subject per CA: two test CAs of one trust domain must never be confused by
    // name-based chain building.
    X500Name subject = new X500Name("O=meshguard-testkit,CN=" + trustDomain + " test CA " + serial.toString(16).substring(0, 8));
    Instant now = Instant.now();
    JcaX509ExtensionUtils ext = crypto.extensionUtils();
    X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(
        subject, serial, Date.from(now.minus(BACKDATE)), Date.from(now.plus(CA_LIFETIME)), subject, keyPair.getPublic());
    try {
      builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
      builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      builder.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(keyPair.getPublic()));
      builder.addExtension(Extension.subjectAlternativeName, false,
          new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, "spiffe://" + trustDomain)));
    } catch (CertIOException e) {
      throw new IllegalStateException(e);
    }
    X509Certificate certificate = crypto.toCertificate(builder.build(crypto.signer(keyType, keyPair.getPrivate())));
    return new TestCa(trustDomain, keyType, keyPair, certificate);
  }

  public String trustDomain() {
    return trustDomain;
  }

  /** The CA's own SPIFFE ID, {@code spiffe://<trust domain>}. */
  public String spiffeId() {
    return "spiffe://" + trustDomain;
  }

  public KeyType keyType() {
    return keyType;
  }

  public X509Certificate certificate() {
    return certificate;
  }

  /** Starts a leaf (workload SVID) with the given SPIFFE ID as its one URI SAN. */
  public LeafBuilder leaf(String spiffeId) {
    return new LeafBuilder(this, spiffeId);
  }

  /** Writes this CA's certificate as a one-certificate PEM trust bundle. */
  public Path writeBundle(Path file) {
    return Pem.writeCertificates(file, List.of(certificate));
  }

  /** Writes a trust bundle of several CAs (e.g. during a CA rotation). */
  public static Path writeBundle(Path file, TestCa... cas) {
    return Pem.writeCertificates(file, java.util.Arrays.stream(cas).map(TestCa::certificate).toList());
  }

  /** Options of one leaf; {@link #issue()} signs it. */
  public static final class LeafBuilder {
    private final TestCa ca;
    private final String spiffeId;
    private KeyType keyType = KeyType.EC_P256;
    private Instant notBefore;
    private Instant notAfter;
    private List<String> dnsNames = List.of();
    private final List<String> ipAddresses = new ArrayList<>();

    private LeafBuilder(TestCa ca, String spiffeId) {
      this.ca = ca;
      this.spiffeId = Objects.requireNonNull(spiffeId, "spiffeId");
    }

    public LeafBuilder keyType(KeyType keyType) {
      this.keyType = Objects.requireNonNull(keyType, "keyType");
      return this;
    }

    public LeafBuilder validity(Instant notBefore, Instant notAfter) {
      if (!notAfter.isAfter(notBefore)) {
        throw new IllegalArgumentException("notAfter " + notAfter + " must be after notBefore " + notBefore);
      }
      this.notBefore = notBefore;
      this.notAfter = notAfter;
      return this;
    }

    /**
     * DNS SANs besides the URI SAN, for a server that clients verify by host name (an HTTPS
     * server on {@code localhost}); X509-SVID allows them.
     */
    public LeafBuilder dnsNames(String... names) {
      this.dnsNames = List.of(names);
      return this;
    }

    /**
     * Adds an IP address SAN beside the SPIFFE ID, for a server that clients reach by address and
     * check by host name verification (e.g. a TLS {@code redis-server} on 127.0.0.1).
     */
    public LeafBuilder ipAddress(String address) {
      ipAddresses.add(Objects.requireNonNull(address, "address"));
      return this;
    }

    /** Valid from two days ago until one day ago. */
    public LeafBuilder expired() {
      Instant now = Instant.now();
      return validity(now.minus(Duration.ofDays(2)), now.minus(Duration.ofDays(1)));
    }

    public TestCert issue() {
      FixtureCrypto crypto = FixtureCrypto.get();
      KeyPair keyPair = crypto.generate(keyType);
      Instant now = Instant.now();
      Instant from = notBefore != null ? notBefore : now.minus(BACKDATE);
      Instant until = notAfter != null ? notAfter : now.plus(DEFAULT_LEAF_LIFETIME);
      BigInteger serial = Serials.random(crypto.random());
      JcaX509ExtensionUtils ext = crypto.extensionUtils();
      X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(
          ca.certificate, serial, Date.from(from), Date.from(until),
          new X500Name("O=meshguard-testkit"), keyPair.getPublic());
      // X509-SVID §4: CA:FALSE, critical key usage with digitalSignature (keyEncipherment only
      // makes sense for RSA), EKU serverAuth + clientAuth, exactly one URI SAN.
      int keyUsage = KeyUsage.digitalSignature | (keyType == KeyType.RSA_2048 ? KeyUsage.keyEncipherment : 0);
      try {
        builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
        builder.addExtension(Extension.keyUsage, true, new KeyUsage(keyUsage));
        builder.addExtension(Extension.extendedKeyUsage, false,
            new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
        builder.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(keyPair.getPublic()));
        builder.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(ca.certificate));
        List<GeneralName> sans = new ArrayList<>();
        sans.add(new GeneralName(GeneralName.uniformResourceIdentifier, spiffeId));
        for (String dnsName : dnsNames) {
          sans.add(new GeneralName(GeneralName.dNSName, dnsName));
        }
        for (String ipAddress : ipAddresses) {
          sans.add(new GeneralName(GeneralName.iPAddress, ipAddress));
        }
        builder.addExtension(Extension.subjectAlternativeName, false,
            new GeneralNames(sans.toArray(GeneralName[]::new)));
      } catch (CertIOException | CertificateEncodingException e) {
        throw new IllegalStateException(e);
      }
      X509Certificate certificate = crypto.toCertificate(
          builder.build(crypto.signer(ca.keyType, ca.keyPair.getPrivate())));
      return new TestCert(spiffeId, keyType, certificate, keyPair.getPrivate(), ca.certificate);
    }
  }

  static final class Serials {
    private Serials() {}

    /** A positive random serial of at most 16 octets (RFC 5280 §4.1.2.2 allows 20). */
    static BigInteger random(java.security.SecureRandom random) {
      byte[] bytes = new byte[16];
      random.nextBytes(bytes);
      bytes[0] &= 0x7f;
      bytes[0] |= 0x01 << 6; // never zero, and a fixed length so hex prefixes are stable
      return new BigInteger(1, bytes);
    }
  }
}
