package dev.meshguard.ca;

import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.security.PrivateKey;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.DefaultSignatureAlgorithmIdentifierFinder;
import org.bouncycastle.operator.RuntimeOperatorException;

/**
 * A bcpkix {@link ContentSigner} that signs through {@link Crypto#sign}, so certificate signing
 * takes the mode's provider and its FIPS algorithm check like every other signature. One
 * instance per certificate (it buffers the to-be-signed bytes).
 */
final class CaSigner implements ContentSigner {
  static final String SETTING = "ca.key_type";

  private final Crypto crypto;
  private final String algorithm;
  private final PrivateKey key;
  private final AlgorithmIdentifier identifier;
  private final ByteArrayOutputStream buffer = new ByteArrayOutputStream(1024);

  CaSigner(Crypto crypto, String algorithm, PrivateKey key) {
    this.crypto = crypto;
    this.algorithm = algorithm;
    this.key = key;
    this.identifier = new DefaultSignatureAlgorithmIdentifierFinder().find(algorithm);
  }

  @Override
  public AlgorithmIdentifier getAlgorithmIdentifier() {
    return identifier;
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
