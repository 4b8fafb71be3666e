package dev.meshguard.ca.workload;

import com.google.protobuf.ByteString;
import dev.meshguard.ca.IssueResult;
import dev.meshguard.ca.RootRotation;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.KeyAlgorithm;
import dev.meshguard.core.spiffe.SpiffeId;
import dev.meshguard.core.time.Clock;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.DefaultSignatureAlgorithmIdentifierFinder;
import org.bouncycastle.operator.RuntimeOperatorException;
import org.bouncycastle.pkcs.PKCS10CertificationRequestBuilder;

/**
 * The agent half of the Workload API (what SPIRE's agent does for its workloads): one X.509-SVID
 * per registered identity, each with its own ECDSA P-256 key made and kept in memory, replaced at
 * half its lifetime. Issuance goes through the CA's ordinary path (a CSR for the identity, checked
 * by the CSR policy), so a Workload API SVID is exactly what the Istio CA API would issue.
 *
 * <p>{@link #refresh()} runs on the refresh thread (never on a request thread) and may log;
 * {@link #current()} is a lock-free read of an immutable map.
 */
final class SvidAgent {
  private static final Logger LOG = Logger.getLogger(SvidAgent.class.getName());
  static final String SETTING = "workload_api";
  /** SPIRE's agents and java-spiffe's defaults: P-256 keys. */
  private static final KeyAlgorithm KEY_ALGORITHM = KeyAlgorithm.ECDSA_P256;

  /**
   * One issued SVID with its key, ready to send.
   *
   * @param chainDer the leaf then the intermediates (no root), DER concatenated
   * @param keyDer the unencrypted PKCS#8 private key
   * @param renewAt half-way through the lifetime, when a new one replaces it
   */
  record Svid(SpiffeId id, X509Certificate leaf, ByteString chainDer, ByteString keyDer, Instant notAfter,
      Instant renewAt) {
    @Override
    public String toString() {
      // Never the key.
      return "Svid[" + id + ", serial " + leaf.getSerialNumber().toString(16) + ", until " + notAfter + "]";
    }
  }

  private final Crypto crypto;
  private final Clock clock;
  private final RootRotation rotation;
  private final Duration ttl;
  private final List<SpiffeId> identities;
  private final WorkloadApiServer.IssuanceListener listener;
  /** Written by {@link #refresh()} only (one thread at a time), read by request threads. */
  private volatile Map<SpiffeId, Svid> svids = Map.of();

  SvidAgent(Crypto crypto, Clock clock, RootRotation rotation, Duration ttl, List<SpiffeId> identities,
      WorkloadApiServer.IssuanceListener listener) {
    this.listener = listener;
    this.crypto = crypto;
    this.clock = clock;
    this.rotation = rotation;
    this.ttl = ttl;
    this.identities = List.copyOf(identities);
  }

  /** The current SVIDs by identity; immutable. */
  Map<SpiffeId, Svid> current() {
    return svids;
  }

  /**
   * Issues an SVID for every identity that has none or whose renewal time has come. A failure
   * keeps the SVID it had (a still-valid one goes on being served) and is retried next time.
   *
   * @return whether any SVID changed
   */
  synchronized boolean refresh() {
    Instant now = clock.now();
    Map<SpiffeId, Svid> next = new LinkedHashMap<>(svids);
    boolean changed = false;
    for (SpiffeId id : identities) {
      Svid existing = next.get(id);
      if (existing != null && now.isBefore(existing.renewAt())) {
        continue;
      }
      Svid issued = issue(id, now);
      if (issued != null) {
        next.put(id, issued);
        changed = true;
      } else if (existing != null && !now.isBefore(existing.notAfter())) {
        next.remove(id);
        changed = true;
      }
    }
    if (changed) {
      svids = Map.copyOf(next);
    }
    return changed;
  }

  private Svid issue(SpiffeId id, Instant now) {
    try {
      KeyPair keyPair = crypto.generateKeyPair(SETTING, KEY_ALGORITHM);
      IssueResult result = rotation.issue(csr(id, keyPair), id, ttl);
      boolean recorded = tell(id, result);
      switch (result) {
        case IssueResult.Refused refused -> {
          LOG.warning(() -> "cannot issue the Workload API SVID of " + id + ": " + refused.refusal());
          return null;
        }
        case IssueResult.Issued issued -> {
          if (!recorded) {
            LOG.warning(() -> "the Workload API SVID " + issued.serial().toString(16) + " of " + id
                + " was not recorded (audit log); it is not served, and the next refresh issues again");
            return null;
          }
          List<X509Certificate> chain = issued.chain();
          // The root is the last element; workloads get it in the bundle, not in the chain.
          ByteString chainDer = der(chain.subList(0, chain.size() - 1));
          Instant notAfter = issued.notAfter();
          Instant renewAt = now.plus(Duration.between(now, notAfter).dividedBy(2));
          Svid svid = new Svid(id, issued.leaf(), chainDer, ByteString.copyFrom(keyPair.getPrivate().getEncoded()),
              notAfter, renewAt);
          LOG.fine(() -> "issued the Workload API SVID " + svid + ", renewed at " + renewAt);
          return svid;
        }
      }
    } catch (ConfigException | IOException | CertificateEncodingException | RuntimeException e) {
      LOG.log(Level.WARNING, "cannot issue the Workload API SVID of " + id, e);
      return null;
    }
  }

  private boolean tell(SpiffeId id, IssueResult result) {
    try {
      return listener.onIssue(id, ttl, result);
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, "the issuance listener failed for " + id, e);
      return false;
    }
  }

  /** A PKCS#10 request for {@code id}: empty subject, one critical URI SAN, signed with the new key. */
  private byte[] csr(SpiffeId id, KeyPair keyPair) throws IOException {
    ExtensionsGenerator extensions = new ExtensionsGenerator();
    extensions.addExtension(Extension.subjectAlternativeName, true,
        new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, id.toString())));
    PKCS10CertificationRequestBuilder builder = new PKCS10CertificationRequestBuilder(new X500Name(new RDN[0]),
        SubjectPublicKeyInfo.getInstance(keyPair.getPublic().getEncoded()));
    builder.addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, extensions.generate());
    return builder.build(new Signer(crypto, KEY_ALGORITHM.signatureAlgorithm(), keyPair.getPrivate())).getEncoded();
  }

  static ByteString der(List<X509Certificate> certificates) throws CertificateEncodingException {
    ByteString.Output out = ByteString.newOutput();
    for (X509Certificate certificate : certificates) {
      byte[] encoded = certificate.getEncoded();
      out.write(encoded, 0, encoded.length);
    }
    return out.toByteString();
  }

  /** Signs the CSR through {@link Crypto#sign}, so FIPS mode signs with BC-FIPS. */
  private static final class Signer implements ContentSigner {
    private final Crypto crypto;
    private final String algorithm;
    private final PrivateKey key;
    private final ByteArrayOutputStream buffer = new ByteArrayOutputStream(512);

    Signer(Crypto crypto, String algorithm, PrivateKey key) {
      this.crypto = crypto;
      this.algorithm = algorithm;
      this.key = key;
    }

    @Override
    public AlgorithmIdentifier getAlgorithmIdentifier() {
      return new DefaultSignatureAlgorithmIdentifierFinder().find(algorithm);
    }

    @Override
    public OutputStream getOutputStream() {
      return buffer;
    }

    @Override
    public byte[] getSignature() {
      try {
        return crypto.sign(SETTING, algorithm, key, buffer.toByteArray());
      } catch (ConfigException e) {
        throw new RuntimeOperatorException(e.getMessage(), e);
      }
    }
  }
}
