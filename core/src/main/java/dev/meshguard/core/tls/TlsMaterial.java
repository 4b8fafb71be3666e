package dev.meshguard.core.tls;

import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.ApprovedAlgorithms;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.crypto.KeyAlgorithm;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.List;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * The key and trust material of one generation, validated and turned into key and trust
 * managers of the TLS provider ({@code PKIX} from {@link Crypto#tlsProvider()}, over key stores
 * of {@link Crypto#keyStoreType()}): the key manager must be the TLS provider's own, since it
 * decides which key types the provider can use, and in FIPS mode both must stay in the module.
 *
 * @param chain the certificate chain, leaf first; empty when no certificate is configured
 * @param keyManager null when no certificate is configured
 * @param trustManager null when no bundle is configured
 */
record TlsMaterial(
    List<X509Certificate> chain,
    X509ExtendedKeyManager keyManager,
    List<X509Certificate> trustAnchors,
    X509ExtendedTrustManager trustManager) {

  static final String KEY_ALIAS = "meshguard";
  private static final String MANAGER_ALGORITHM = "PKIX";

  TlsMaterial {
    chain = List.copyOf(chain);
    trustAnchors = List.copyOf(trustAnchors);
  }

  /** The leaf, or null. */
  X509Certificate leaf() {
    return chain.isEmpty() ? null : chain.getFirst();
  }

  static TlsMaterial build(Crypto crypto, TlsOptions options, FileContents files) throws ConfigException {
    List<X509Certificate> chain = List.of();
    X509ExtendedKeyManager keyManager = null;
    if (options.certFile() != null) {
      chain = PemFiles.parseCertificates(crypto, options.certFile(), files.certificate());
      PrivateKey key = PemFiles.parsePrivateKey(crypto, options.keyFile(), files.key());
      files.wipe();
      checkKey(crypto, options, chain.getFirst(), key);
      keyManager = keyManager(crypto, options, chain, key);
    }
    List<X509Certificate> anchors = List.of();
    X509ExtendedTrustManager trustManager = null;
    if (options.trustBundleFile() != null) {
      anchors = PemFiles.parseCertificates(crypto, options.trustBundleFile(), files.bundle());
      trustManager = trustManager(crypto, options, anchors);
    }
    return new TlsMaterial(chain, keyManager, anchors, trustManager);
  }

  private static void checkKey(Crypto crypto, TlsOptions options, X509Certificate leaf, PrivateKey key)
      throws ConfigException {
    if (crypto.isFips() && KeyAlgorithm.of(leaf.getPublicKey()).isEmpty()) {
      throw PemFiles.error(options.certFile(), "the certificate's key is " + KeyAlgorithm.describe(leaf.getPublicKey())
          + ", which FIPS mode does not allow; use one of " + String.join(", ", ApprovedAlgorithms.KEY_ALGORITHMS));
    }
    String signatureAlgorithm = switch (key.getAlgorithm()) {
      case "EC", "ECDSA" -> "SHA256withECDSA";
      case "RSA" -> "SHA256withRSA";
      default -> throw PemFiles.error(options.keyFile(), "the private key's algorithm " + key.getAlgorithm() + " is not supported");
    };
    // A key that signs what the certificate's public key verifies is the certificate's key. This
    // catches the usual half-rotated state (new certificate, old key) before a handshake does.
    byte[] challenge = new byte[32];
    crypto.secureRandom().nextBytes(challenge);
    boolean matches;
    try {
      byte[] signature = crypto.sign("tls", signatureAlgorithm, key, challenge);
      matches = crypto.verify(signatureAlgorithm, leaf.getPublicKey(), challenge, signature);
    } catch (ConfigException | GeneralSecurityException e) {
      matches = false;
    }
    if (!matches) {
      throw PemFiles.error(options.keyFile(), "the private key (" + key.getAlgorithm() + ") does not belong to the"
          + " certificate in " + options.certFile() + " (" + KeyAlgorithm.describe(leaf.getPublicKey())
          + ", serial " + leaf.getSerialNumber().toString(16) + ")");
    }
  }

  private static X509ExtendedKeyManager keyManager(Crypto crypto, TlsOptions options, List<X509Certificate> chain,
      PrivateKey key) throws ConfigException {
    // The store only lives in memory; a fresh random password per generation satisfies BCFKS,
    // which refuses to store a key without one.
    char[] password = randomPassword(crypto);
    try {
      KeyStore store = crypto.newKeyStore();
      store.setKeyEntry(KEY_ALIAS, key, password, chain.toArray(new X509Certificate[0]));
      KeyManagerFactory factory = KeyManagerFactory.getInstance(MANAGER_ALGORITHM, crypto.tlsProvider());
      factory.init(store, password);
      for (KeyManager manager : factory.getKeyManagers()) {
        if (manager instanceof X509ExtendedKeyManager x509) {
          return x509;
        }
      }
      throw new IllegalStateException(crypto.tlsProvider().getName() + " returned no X509ExtendedKeyManager");
    } catch (GeneralSecurityException e) {
      throw PemFiles.error(options.keyFile(), "cannot build a " + crypto.tlsProvider().getName()
          + " key manager from this key and " + options.certFile() + ": " + e.getMessage());
    } finally {
      java.util.Arrays.fill(password, '\0');
    }
  }

  private static X509ExtendedTrustManager trustManager(Crypto crypto, TlsOptions options,
      List<X509Certificate> anchors) throws ConfigException {
    try {
      KeyStore store = crypto.newKeyStore();
      for (int i = 0; i < anchors.size(); i++) {
        store.setCertificateEntry("ca-" + i, anchors.get(i));
      }
      TrustManagerFactory factory = TrustManagerFactory.getInstance(MANAGER_ALGORITHM, crypto.tlsProvider());
      factory.init(store);
      for (TrustManager manager : factory.getTrustManagers()) {
        if (manager instanceof X509ExtendedTrustManager x509) {
          return x509;
        }
      }
      throw new IllegalStateException(crypto.tlsProvider().getName() + " returned no X509ExtendedTrustManager");
    } catch (GeneralSecurityException e) {
      throw PemFiles.error(options.trustBundleFile(), "cannot build a " + crypto.tlsProvider().getName()
          + " trust manager from this bundle: " + e.getMessage());
    }
  }

  private static char[] randomPassword(Crypto crypto) {
    byte[] bytes = new byte[16];
    crypto.secureRandom().nextBytes(bytes);
    return HexFormat.of().formatHex(bytes).toCharArray();
  }
}
