package dev.meshguard.ca;

import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.KeyAlgorithm;
import dev.meshguard.core.spiffe.InvalidSpiffeIdException;
import dev.meshguard.core.spiffe.SpiffeId;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.DERNull;
import org.bouncycastle.asn1.edec.EdECObjectIdentifiers;
import org.bouncycastle.asn1.nist.NISTObjectIdentifiers;
import org.bouncycastle.asn1.oiw.OIWObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.Attribute;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;

/**
 * The CSR policy (issue 7): a PKCS#10 request is accepted only when every rule holds, checked
 * here explicitly because the Bouncy Castle FIPS provider verifies signatures made with RSA-1024
 * keys and over SHA-1 without complaint (identity-ca.md §6):
 *
 * <ol>
 *   <li>at most {@link #MAX_CSR_BYTES}, PEM or DER, one PKCS#10 request;
 *   <li>signature algorithm ECDSA or RSA PKCS#1 v1.5 with SHA-256, SHA-384 or SHA-512;
 *   <li>key EC P-256, EC P-384 or RSA 2048/3072/4096 ({@link KeyAlgorithm#of});
 *   <li>the signature verifies with the CSR's own key;
 *   <li>no {@code basicConstraints cA=true} in the extension request;
 *   <li>exactly one URI SAN, a valid SPIFFE ID with a non-root path in the CA's trust domain and
 *       equal to the caller's authenticated identity;
 *   <li>no IP, email or other SANs and no subject CN; DNS SANs only those configured for the identity.
 * </ol>
 *
 * Categories: a different identity or unauthorised DNS names are PERMISSION_DENIED (the caller
 * is known but not entitled); everything else is INVALID_ARGUMENT. Stateless and thread-safe.
 */
final class CsrPolicy {

  /** A CSR is a few hundred bytes (an RSA-4096 one about 1.7 KiB); anything near this is not a CSR. */
  static final int MAX_CSR_BYTES = 64 * 1024;

  /** The signature algorithms accepted, by OID, with the JCA name to verify them with. */
  private static final Map<ASN1ObjectIdentifier, String> SIGNATURES = Map.of(
      X9ObjectIdentifiers.ecdsa_with_SHA256, "SHA256withECDSA",
      X9ObjectIdentifiers.ecdsa_with_SHA384, "SHA384withECDSA",
      X9ObjectIdentifiers.ecdsa_with_SHA512, "SHA512withECDSA",
      PKCSObjectIdentifiers.sha256WithRSAEncryption, "SHA256withRSA",
      PKCSObjectIdentifiers.sha384WithRSAEncryption, "SHA384withRSA",
      PKCSObjectIdentifiers.sha512WithRSAEncryption, "SHA512withRSA");

  private static final Set<ASN1ObjectIdentifier> SHA1_SIGNATURES = Set.of(
      X9ObjectIdentifiers.ecdsa_with_SHA1, PKCSObjectIdentifiers.sha1WithRSAEncryption,
      OIWObjectIdentifiers.sha1WithRSA, X9ObjectIdentifiers.id_dsa_with_sha1);

  private static final String ALLOWED_SIGNATURES = "ECDSA or RSA PKCS#1 v1.5 with SHA-256, SHA-384 or SHA-512";
  private static final String ALLOWED_KEYS = "EC P-256, EC P-384, RSA 2048, RSA 3072 or RSA 4096";

  private final Crypto crypto;
  private final String trustDomain;
  private final CaOptions options;

  CsrPolicy(Crypto crypto, String trustDomain, CaOptions options) {
    this.crypto = crypto;
    this.trustDomain = trustDomain;
    this.options = options;
  }

  /** What {@link #check} decides. */
  sealed interface Outcome permits Accepted, Rejected {}

  /** A refused CSR. */
  record Rejected(Refusal refusal) implements Outcome {}

  /** An accepted CSR: the key and names that go into the leaf. */
  record Accepted(PublicKey publicKey, KeyAlgorithm keyAlgorithm, SpiffeId spiffeId, List<String> dnsNames)
      implements Outcome {
    Accepted {
      dnsNames = List.copyOf(dnsNames);
    }
  }

  /**
   * Checks {@code csr} for {@code identity}; with a null identity the CSR's own SPIFFE ID is the
   * identity (offline issuance by an operator). Never throws for any input bytes.
   */
  Outcome check(byte[] csr, SpiffeId identity) {
    try {
      return checkOrRefuse(csr, identity);
    } catch (Refused e) {
      return new Rejected(e.refusal);
    }
  }

  private Accepted checkOrRefuse(byte[] csr, SpiffeId identity) throws Refused {
    if (csr.length > MAX_CSR_BYTES) {
      throw invalid("the CSR is " + csr.length + " bytes, more than the limit of " + MAX_CSR_BYTES);
    }
    PKCS10CertificationRequest request = parse(csr);

    AlgorithmIdentifier signatureAlgorithm = request.getSignatureAlgorithm();
    ASN1ObjectIdentifier signatureOid = signatureAlgorithm.getAlgorithm();
    String jcaSignature = SIGNATURES.get(signatureOid);
    if (jcaSignature == null) {
      throw invalid(SHA1_SIGNATURES.contains(signatureOid)
          ? "the CSR is signed with SHA-1, which is disallowed (NIST SP 800-131A); sign it with SHA-256 or stronger"
          : "the CSR's signature algorithm " + algorithmName(signatureOid) + " is not allowed; use " + ALLOWED_SIGNATURES);
    }
    // ECDSA signature identifiers have absent parameters, RSA ones NULL (RFC 5758 §3.2, RFC 4055 §5).
    if (signatureAlgorithm.getParameters() != null && !DERNull.INSTANCE.equals(signatureAlgorithm.getParameters())) {
      throw invalid("the CSR's signature algorithm " + jcaSignature + " has unexpected parameters");
    }

    PublicKey publicKey = publicKey(request.getSubjectPublicKeyInfo());
    KeyAlgorithm keyAlgorithm = KeyAlgorithm.of(publicKey).orElseThrow(() -> invalid(
        "the CSR's key is " + KeyAlgorithm.describe(publicKey) + ", which is not allowed; use " + ALLOWED_KEYS));
    boolean ecKey = keyAlgorithm.jcaAlgorithm().equals("EC");
    if (ecKey != jcaSignature.endsWith("ECDSA")) {
      throw invalid("the CSR's signature algorithm " + jcaSignature + " does not fit its " + keyAlgorithm + " key");
    }
    verifySignature(request, jcaSignature, publicKey);

    Extensions extensions = extensionRequest(request);
    BasicConstraints basicConstraints = extensions == null ? null
        : BasicConstraints.fromExtensions(extensions);
    if (basicConstraints != null && basicConstraints.isCA()) {
      throw invalid("the CSR requests a CA certificate (basicConstraints cA=true); this CA issues only leaf SVIDs");
    }

    GeneralNames sans = extensions == null ? null : GeneralNames.fromExtensions(extensions, Extension.subjectAlternativeName);
    if (sans == null) {
      throw invalid("the CSR has no subject alternative names; it needs exactly one URI SAN, the SPIFFE ID");
    }
    List<String> uris = new ArrayList<>();
    List<String> dnsNames = new ArrayList<>();
    for (GeneralName name : sans.getNames()) {
      switch (name.getTagNo()) {
        case GeneralName.uniformResourceIdentifier -> uris.add(name.getName().toString());
        case GeneralName.dNSName -> dnsNames.add(name.getName().toString());
        case GeneralName.iPAddress -> throw invalid("the CSR asks for an IP address SAN; X.509-SVIDs from this CA carry none");
        case GeneralName.rfc822Name -> throw invalid("the CSR asks for an email SAN; X.509-SVIDs from this CA carry none");
        default -> throw invalid("the CSR asks for a SAN of type " + name.getTagNo()
            + "; only one URI SAN (and DNS names where configured) are allowed");
      }
    }
    if (uris.size() != 1) {
      throw invalid(uris.isEmpty()
          ? "the CSR has no URI SAN; it needs exactly one, the SPIFFE ID"
          : "the CSR has " + uris.size() + " URI SANs; an X.509-SVID has exactly one, the SPIFFE ID");
    }
    SpiffeId requested;
    try {
      requested = SpiffeId.parse(uris.get(0));
    } catch (InvalidSpiffeIdException e) {
      throw invalid("the CSR's URI SAN is not a valid SPIFFE ID: " + e.getMessage());
    }
    if (requested.isTrustDomainId()) {
      throw invalid("the CSR's SPIFFE ID " + requested + " has no path; a leaf SVID's ID needs one (X509-SVID §2)");
    }
    if (identity != null && !identity.equals(requested)) {
      throw denied("the CSR asks for " + requested + " but the caller is " + identity);
    }
    if (!requested.trustDomain().equals(trustDomain)) {
      throw denied("the CSR's SPIFFE ID " + requested + " is not in this CA's trust domain " + trustDomain);
    }
    Set<String> allowedDns = options.dnsNamesFor(requested);
    for (String dns : dnsNames) {
      if (!allowedDns.contains(dns)) {
        throw denied("the CSR asks for the DNS name " + dns + ", which is not configured for " + requested);
      }
    }
    for (RDN rdn : request.getSubject().getRDNs()) {
      for (var attribute : rdn.getTypesAndValues()) {
        if (attribute.getType().equals(BCStyle.CN) || attribute.getType().equals(BCStyle.EmailAddress)) {
          throw invalid("the CSR's subject has a " + (attribute.getType().equals(BCStyle.CN) ? "CN" : "emailAddress")
              + "; X.509-SVIDs from this CA have an empty subject (the identity is the URI SAN)");
        }
      }
    }
    return new Accepted(publicKey, keyAlgorithm, requested, dnsNames);
  }

  private static PKCS10CertificationRequest parse(byte[] csr) throws Refused {
    try {
      if (startsWithPem(csr)) {
        Object object;
        try (Reader reader = new InputStreamReader(new ByteArrayInputStream(csr), StandardCharsets.US_ASCII);
             PEMParser parser = new PEMParser(reader)) {
          object = parser.readObject();
          if (parser.readObject() != null) {
            throw invalid("the PEM holds more than one block; send exactly one CERTIFICATE REQUEST");
          }
        }
        if (object instanceof PKCS10CertificationRequest request) {
          return request;
        }
        throw invalid("the PEM block is not a CERTIFICATE REQUEST");
      }
      return new PKCS10CertificationRequest(csr);
    } catch (IOException | RuntimeException e) {
      // Garbage DER or base64 surfaces as IOException or as runtime exceptions from the ASN.1 parser.
      throw invalid("the CSR is not a PKCS#10 certificate request: " + e.getMessage());
    }
  }

  private static boolean startsWithPem(byte[] bytes) {
    byte[] marker = "-----BEGIN".getBytes(StandardCharsets.US_ASCII);
    int i = 0;
    while (i < bytes.length && Character.isWhitespace(bytes[i])) {
      i++;
    }
    if (bytes.length - i < marker.length) {
      return false;
    }
    for (int j = 0; j < marker.length; j++) {
      if (bytes[i + j] != marker[j]) {
        return false;
      }
    }
    return true;
  }

  private PublicKey publicKey(SubjectPublicKeyInfo info) throws Refused {
    ASN1ObjectIdentifier algorithm = info.getAlgorithm().getAlgorithm();
    String jca;
    if (algorithm.equals(X9ObjectIdentifiers.id_ecPublicKey)) {
      jca = "EC";
    } else if (algorithm.equals(PKCSObjectIdentifiers.rsaEncryption)) {
      jca = "RSA";
    } else {
      throw invalid("the CSR's key is " + algorithmName(algorithm) + ", which is not allowed; use " + ALLOWED_KEYS);
    }
    try {
      return crypto.keyFactory(jca).generatePublic(new X509EncodedKeySpec(info.getEncoded()));
    } catch (IOException | GeneralSecurityException | RuntimeException e) {
      throw invalid("the CSR's " + jca + " public key cannot be decoded: " + e.getMessage());
    }
  }

  /** Names for the algorithms people actually try; the OID for the rest. */
  private static String algorithmName(ASN1ObjectIdentifier oid) {
    if (oid.equals(EdECObjectIdentifiers.id_Ed25519)) {
      return "Ed25519";
    }
    if (oid.equals(EdECObjectIdentifiers.id_Ed448)) {
      return "Ed448";
    }
    if (oid.equals(PKCSObjectIdentifiers.id_RSASSA_PSS)) {
      return "RSASSA-PSS";
    }
    return oid.getId();
  }

  private void verifySignature(PKCS10CertificationRequest request, String jcaSignature, PublicKey key) throws Refused {
    boolean valid;
    try {
      valid = crypto.verify(jcaSignature, key, request.toASN1Structure().getCertificationRequestInfo().getEncoded(),
          request.getSignature());
    } catch (IOException | GeneralSecurityException | RuntimeException e) {
      valid = false;
    }
    if (!valid) {
      throw invalid("the CSR's signature does not verify with its own public key");
    }
  }

  private static Extensions extensionRequest(PKCS10CertificationRequest request) throws Refused {
    Attribute[] attributes = request.getAttributes(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest);
    if (attributes.length == 0) {
      return null;
    }
    if (attributes.length > 1 || attributes[0].getAttrValues().size() != 1) {
      throw invalid("the CSR has more than one extension request");
    }
    try {
      ASN1Primitive value = attributes[0].getAttrValues().getObjectAt(0).toASN1Primitive();
      return Extensions.getInstance(value);
    } catch (RuntimeException e) {
      throw invalid("the CSR's extension request is malformed: " + e.getMessage());
    }
  }

  private static Refused invalid(String reason) {
    return new Refused(Refusal.invalid(reason));
  }

  private static Refused denied(String reason) {
    return new Refused(Refusal.denied(reason));
  }

  /** Internal control flow only: {@link #check} turns it into its {@link Refusal}. */
  private static final class Refused extends Exception {
    private static final long serialVersionUID = 1L;
    private final transient Refusal refusal;

    Refused(Refusal refusal) {
      super(refusal.reason(), null, false, false);
      this.refusal = refusal;
    }
  }
}
