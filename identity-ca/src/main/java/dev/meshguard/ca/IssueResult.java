package dev.meshguard.ca;

import dev.meshguard.core.crypto.KeyAlgorithm;
import dev.meshguard.core.spiffe.SpiffeId;
import java.math.BigInteger;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/** The outcome of one issuance: a certificate chain, or a {@link Refusal} and never a certificate. */
public sealed interface IssueResult {

  /**
   * An issued X.509-SVID.
   *
   * @param chain the leaf first, then the CA chain, the root last (Istio's {@code cert_chain} order)
   * @param spiffeId the leaf's one URI SAN
   * @param keyAlgorithm the leaf's key type, from the CSR
   */
  record Issued(List<X509Certificate> chain, SpiffeId spiffeId, KeyAlgorithm keyAlgorithm) implements IssueResult {
    public Issued {
      chain = List.copyOf(chain);
      if (chain.size() < 2) {
        throw new IllegalArgumentException("a chain has the leaf and at least the root, got " + chain.size());
      }
      Objects.requireNonNull(spiffeId, "spiffeId");
      Objects.requireNonNull(keyAlgorithm, "keyAlgorithm");
    }

    public X509Certificate leaf() {
      return chain.get(0);
    }

    public BigInteger serial() {
      return leaf().getSerialNumber();
    }

    public Instant notAfter() {
      return leaf().getNotAfter().toInstant();
    }
  }

  /** A refusal; it carries no certificate by construction. */
  record Refused(Refusal refusal) implements IssueResult {
    public Refused {
      Objects.requireNonNull(refusal, "refusal");
    }
  }
}
