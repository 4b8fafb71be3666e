package dev.meshguard.core.tls;

import dev.meshguard.core.config.ConfigError;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.cert.X509CRLHolder;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;

/**
 * Reads PEM certificates, chains and private keys (PKCS#8 {@code PRIVATE KEY}, SEC1
 * {@code EC PRIVATE KEY}, PKCS#1 {@code RSA PRIVATE KEY}) with bcpkix's {@code PEMParser}, and
 * turns them into JCA objects through the mode's provider ({@link Crypto#certificateFactory()},
 * {@link Crypto#keyFactory}). Every error is a {@link ConfigException} whose source is the file,
 * so a message reads {@code /etc/meshguard/tls.key: the private key is encrypted; ...}.
 *
 * <p>Messages never contain key material.
 */
public final class PemFiles {

  /** Files are read whole; a trust bundle of a few hundred CAs is far below this. */
  public static final int MAX_FILE_BYTES = 1 << 20;

  private PemFiles() {}

  /** All certificates in {@code file}, in file order (leaf first for a chain); at least one. */
  public static List<X509Certificate> readCertificates(Crypto crypto, Path file) throws ConfigException {
    return parseCertificates(crypto, file, read(file));
  }

  /** The one private key in {@code file} (certificate blocks beside it are ignored). */
  public static PrivateKey readPrivateKey(Crypto crypto, Path file) throws ConfigException {
    byte[] content = read(file);
    try {
      return parsePrivateKey(crypto, file, content);
    } finally {
      java.util.Arrays.fill(content, (byte) 0);
    }
  }

  static byte[] read(Path file) throws ConfigException {
    try {
      // Checked before reading so that a huge file (a mistaken path) is never loaded.
      long size = Files.size(file);
      if (size > MAX_FILE_BYTES) {
        throw error(file, "is " + size + " bytes, larger than the limit of " + MAX_FILE_BYTES + " bytes for a PEM file");
      }
      byte[] content = Files.readAllBytes(file);
      if (content.length > MAX_FILE_BYTES) {
        throw error(file, "grew beyond the limit of " + MAX_FILE_BYTES + " bytes while being read");
      }
      return content;
    } catch (NoSuchFileException e) {
      throw error(file, "cannot read: no such file");
    } catch (AccessDeniedException e) {
      throw error(file, "cannot read: permission denied");
    } catch (IOException e) {
      throw error(file, "cannot read: " + e);
    }
  }

  static List<X509Certificate> parseCertificates(Crypto crypto, Path file, byte[] content) throws ConfigException {
    List<Object> objects = parse(file, content);
    List<X509Certificate> certificates = new ArrayList<>();
    CertificateFactory factory;
    try {
      factory = crypto.certificateFactory();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("no X.509 certificate factory", e);
    }
    for (int i = 0; i < objects.size(); i++) {
      Object object = objects.get(i);
      if (!(object instanceof X509CertificateHolder holder)) {
        String what = describe(object);
        if (isPrivateKey(object)) {
          throw error(file, "PEM block " + (i + 1) + " is a private key; keep keys out of certificate files,"
              + " which are often readable by everyone");
        }
        throw error(file, "PEM block " + (i + 1) + " is " + what + ", expected CERTIFICATE");
      }
      try (InputStream in = new ByteArrayInputStream(holder.getEncoded())) {
        certificates.add((X509Certificate) factory.generateCertificate(in));
      } catch (IOException | GeneralSecurityException e) {
        throw error(file, "PEM block " + (i + 1) + " is not a valid X.509 certificate: " + e.getMessage());
      }
    }
    if (certificates.isEmpty()) {
      throw error(file, "no certificate found (expected -----BEGIN CERTIFICATE----- blocks)");
    }
    return List.copyOf(certificates);
  }

  static PrivateKey parsePrivateKey(Crypto crypto, Path file, byte[] content) throws ConfigException {
    PrivateKeyInfo info = null;
    List<Object> objects = parse(file, content);
    for (Object object : objects) {
      PrivateKeyInfo found;
      if (object instanceof PrivateKeyInfo pkcs8) {
        found = pkcs8;
      } else if (object instanceof PEMKeyPair traditional) {
        // SEC1 "EC PRIVATE KEY" or PKCS#1 "RSA PRIVATE KEY", converted by PEMParser.
        found = traditional.getPrivateKeyInfo();
      } else if (object instanceof PKCS8EncryptedPrivateKeyInfo || object instanceof PEMEncryptedKeyPair) {
        throw error(file, "the private key is encrypted; meshguard reads unencrypted keys"
            + " (protect the file with mode 0600 and a secret volume instead)");
      } else if (object instanceof X509CertificateHolder || object instanceof ASN1ObjectIdentifier) {
        continue; // a combined cert+key file, or OpenSSL's "EC PARAMETERS" before the key
      } else {
        throw error(file, "contains " + describe(object) + ", expected a private key");
      }
      if (info != null) {
        throw error(file, "contains more than one private key");
      }
      info = found;
    }
    if (info == null) {
      throw error(file, "no private key found (expected a PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY block)");
    }
    ASN1ObjectIdentifier algorithm = info.getPrivateKeyAlgorithm().getAlgorithm();
    String jcaAlgorithm;
    if (PKCSObjectIdentifiers.rsaEncryption.equals(algorithm)) {
      jcaAlgorithm = "RSA";
    } else if (X9ObjectIdentifiers.id_ecPublicKey.equals(algorithm)) {
      jcaAlgorithm = "EC";
    } else {
      throw error(file, "the private key's algorithm " + algorithm.getId() + " is not supported; use an EC or RSA key");
    }
    byte[] encoded = null;
    try {
      encoded = info.getEncoded();
      return crypto.keyFactory(jcaAlgorithm).generatePrivate(new PKCS8EncodedKeySpec(encoded));
    } catch (IOException | GeneralSecurityException | IllegalArgumentException e) {
      // The provider's message describes the structure, never the key bytes.
      throw error(file, "the " + jcaAlgorithm + " private key cannot be decoded: " + e.getMessage());
    } finally {
      if (encoded != null) {
        java.util.Arrays.fill(encoded, (byte) 0);
      }
    }
  }

  private static List<Object> parse(Path file, byte[] content) throws ConfigException {
    List<Object> objects = new ArrayList<>();
    try (Reader reader = new InputStreamReader(new ByteArrayInputStream(content), StandardCharsets.US_ASCII);
         PEMParser parser = new PEMParser(reader)) {
      for (Object object = parser.readObject(); object != null; object = parser.readObject()) {
        objects.add(object);
      }
    } catch (IOException | RuntimeException e) {
      // PEMParser reports a truncated block as IOException ("-----END ... not found") and bad
      // base64 or ASN.1 as runtime exceptions; a half-written file produces either.
      throw error(file, "malformed PEM (block " + (objects.size() + 1) + "): " + e.getMessage());
    }
    return objects;
  }

  private static boolean isPrivateKey(Object object) {
    return object instanceof PrivateKeyInfo || object instanceof PEMKeyPair
        || object instanceof PKCS8EncryptedPrivateKeyInfo || object instanceof PEMEncryptedKeyPair;
  }

  private static String describe(Object object) {
    if (isPrivateKey(object)) {
      return "a private key";
    }
    if (object instanceof SubjectPublicKeyInfo) {
      return "a public key";
    }
    if (object instanceof X509CRLHolder) {
      return "a CRL";
    }
    if (object instanceof PKCS10CertificationRequest) {
      return "a certificate request";
    }
    if (object instanceof ASN1ObjectIdentifier) {
      return "EC PARAMETERS";
    }
    if (object instanceof X509CertificateHolder) {
      return "a certificate";
    }
    return "a " + object.getClass().getSimpleName();
  }

  static ConfigException error(Path file, String message) {
    return new ConfigException(new ConfigError(file.toString(), 0, 0, "", message));
  }
}
