package dev.meshguard.bench;

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
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
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
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;

/**
 * Certificates issued per second by {@link CertificateAuthority#issue} (an ECDSA P-256 CSR, a
 * P-256 CA key: the CSR policy, the CSR's signature verified, the leaf built, signed and parsed),
 * against the physical limit per certificate with the same provider: one P-256 signature
 * verification (the CSR's) plus one P-256 signature (the leaf's), measured on the same bytes.
 *
 * <p>The baseline verifies with the CSR's public key decoded from its encoding every time, as the
 * CA must: every CSR brings a key the CA has not seen. BC-FIPS validates a public key (FIPS 186
 * assurance of the point) on the first use of each key object, so a baseline reusing one key
 * object would skip that part of every real verification (about a third of it, measured).
 *
 * <p>Each is measured on one thread and on every core ({@link Threads#MAX}); {@link #mode} picks
 * the crypto mode, which is JVM-wide, so FIPS mode runs in a JVM started with approved-only mode
 * on ({@link CaIssueSuite} passes {@code -Dorg.bouncycastle.fips.approved_only=true} to JMH's
 * fork). Every thread has its own CSR (all threads share the CA, as the server's request threads do).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class CaIssueBenchmark {
  static final String TRUST_DOMAIN = "bench.example";
  static final SpiffeId WORKLOAD = new SpiffeId(TRUST_DOMAIN, "/ns/default/sa/web");
  static final Duration TTL = Duration.ofHours(24);
  static final String SIGNATURE = "SHA256withECDSA";
  private static final String SETTING = "bench";

  /** The CA and its crypto mode, shared by every thread. */
  @State(Scope.Benchmark)
  public static class Authority {
    /** {@code default} or {@code fips}; FIPS needs the JVM in approved-only mode. */
    @Param("default")
    public String mode;

    Crypto crypto;
    CertificateAuthority ca;
    /** A P-256 key of the same provider, for the baseline's signature. */
    KeyPair signingKey;

    @Setup(Level.Trial)
    public void create() throws ConfigException {
      crypto = Crypto.install(switch (mode) {
        case "default" -> CryptoMode.DEFAULT;
        case "fips" -> CryptoMode.FIPS;
        default -> throw new IllegalArgumentException("mode is default or fips, found " + mode);
      });
      ca = CertificateAuthority.selfSigned(crypto, Clock.SYSTEM, TRUST_DOMAIN, KeyAlgorithm.ECDSA_P256,
          CaOptions.defaults());
      signingKey = crypto.generateKeyPair(SETTING, KeyAlgorithm.ECDSA_P256);
    }
  }

  /** One thread's CSR, and the bytes the baseline verifies and signs (the same sizes as an issuance's). */
  @State(Scope.Thread)
  public static class Request {
    byte[] csr;
    /** The CSR's SubjectPublicKeyInfo, decoded afresh by every baseline verification. */
    byte[] csrKey;
    byte[] csrInfo;
    byte[] csrSignature;
    byte[] leafToBeSigned;

    @Setup(Level.Trial)
    public void create(Authority authority) throws ConfigException, IOException, GeneralSecurityException,
        OperatorCreationException {
      KeyPair keyPair = authority.crypto.generateKeyPair(SETTING, KeyAlgorithm.ECDSA_P256);
      ExtensionsGenerator extensions = new ExtensionsGenerator();
      extensions.addExtension(Extension.subjectAlternativeName, true,
          new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, WORKLOAD.toString())));
      JcaPKCS10CertificationRequestBuilder builder = new JcaPKCS10CertificationRequestBuilder(
          new X500Name(new RDN[0]), keyPair.getPublic());
      builder.addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, extensions.generate());
      // The default provider order: BCFIPS comes first in FIPS mode.
      PKCS10CertificationRequest request = builder.build(new JcaContentSignerBuilder(SIGNATURE)
          .setSecureRandom(authority.crypto.secureRandom()).build(keyPair.getPrivate()));
      csr = request.getEncoded();
      csrKey = keyPair.getPublic().getEncoded();
      csrInfo = request.toASN1Structure().getCertificationRequestInfo().getEncoded();
      csrSignature = request.getSignature();
      IssueResult result = authority.ca.issue(csr, WORKLOAD, TTL);
      if (!(result instanceof IssueResult.Issued issued)) {
        throw new IllegalStateException("the benchmark's CSR was refused: " + result);
      }
      leafToBeSigned = issued.leaf().getTBSCertificate();
      if (!authority.crypto.verify(SIGNATURE, keyPair.getPublic(), csrInfo, csrSignature)) {
        throw new IllegalStateException("the baseline's CSR signature does not verify");
      }
    }
  }

  @Benchmark
  @Threads(1)
  public IssueResult issue(Authority authority, Request request) {
    return authority.ca.issue(request.csr, WORKLOAD, TTL);
  }

  @Benchmark
  @Threads(Threads.MAX)
  public IssueResult issueAllCores(Authority authority, Request request) {
    return authority.ca.issue(request.csr, WORKLOAD, TTL);
  }

  @Benchmark
  @Threads(1)
  public byte[] verifyAndSign(Authority authority, Request request) throws ConfigException, GeneralSecurityException {
    return verifyAndSignOnce(authority, request);
  }

  @Benchmark
  @Threads(Threads.MAX)
  public byte[] verifyAndSignAllCores(Authority authority, Request request)
      throws ConfigException, GeneralSecurityException {
    return verifyAndSignOnce(authority, request);
  }

  /** The baseline: what every issuance cannot avoid, through the same {@link Crypto} calls the CA makes. */
  private static byte[] verifyAndSignOnce(Authority authority, Request request)
      throws ConfigException, GeneralSecurityException {
    PublicKey key = authority.crypto.keyFactory("EC").generatePublic(new X509EncodedKeySpec(request.csrKey));
    if (!authority.crypto.verify(SIGNATURE, key, request.csrInfo, request.csrSignature)) {
      throw new IllegalStateException("the CSR signature stopped verifying");
    }
    return authority.crypto.sign(SETTING, SIGNATURE, authority.signingKey.getPrivate(), request.leafToBeSigned);
  }
}
