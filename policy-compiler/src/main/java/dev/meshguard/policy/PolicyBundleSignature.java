package dev.meshguard.policy;

import static dev.meshguard.policy.PolicyBundle.KEY_SETTING;
import static dev.meshguard.policy.PolicyBundle.MANIFEST;
import static dev.meshguard.policy.PolicyBundle.SIGNATURE;
import static dev.meshguard.policy.PolicyBundle.SIGNATURE_ALGORITHM;
import static dev.meshguard.policy.PolicyBundleFiles.fileError;
import static dev.meshguard.policy.PolicyBundleFiles.readBytes;
import static dev.meshguard.policy.PolicyBundleKeys.keyId;

import dev.meshguard.core.config.ConfigError;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.util.Base64;
import java.util.List;

/**
 * The manifest's signature: {@value PolicyBundle#SIGNATURE_ALGORITHM} over the bytes of
 * {@value PolicyBundle#MANIFEST}, stored base64 in {@value PolicyBundle#SIGNATURE}.
 */
final class PolicyBundleSignature {

  private PolicyBundleSignature() {}

  /** The content of {@value PolicyBundle#SIGNATURE} for {@code manifestBytes}: base64 and a newline. */
  static byte[] sign(byte[] manifestBytes, PrivateKey signingKey, Crypto crypto) throws ConfigException {
    return (Base64.getEncoder().encodeToString(crypto.sign(KEY_SETTING, SIGNATURE_ALGORITHM, signingKey, manifestBytes))
        + "\n").getBytes(StandardCharsets.US_ASCII);
  }

  /**
   * Whether {@value PolicyBundle#SIGNATURE} in {@code dir} verifies {@code manifestBytes} with
   * {@code trusted}; each reason it does not is added to {@code errors}.
   */
  static boolean checkSignature(Path dir, byte[] manifestBytes, PublicKey trusted, Crypto crypto,
      List<ConfigError> errors) throws ConfigException {
    Path signatureFile = dir.resolve(SIGNATURE);
    if (!Files.exists(signatureFile)) {
      errors.add(fileError(signatureFile, "missing: the bundle is not signed, and a trusted key is configured;"
          + " sign it with meshguard policy bundle --key"));
      return false;
    }
    byte[] signature;
    try {
      signature = Base64.getDecoder().decode(new String(readBytes(signatureFile, 4096), StandardCharsets.US_ASCII)
          .strip());
    } catch (IllegalArgumentException e) {
      errors.add(fileError(signatureFile, "is not base64: " + e.getMessage()));
      return false;
    }
    boolean valid;
    try {
      if (crypto != null) {
        valid = crypto.verify(SIGNATURE_ALGORITHM, trusted, manifestBytes, signature);
      } else {
        Signature verifier = Signature.getInstance(SIGNATURE_ALGORITHM);
        verifier.initVerify(trusted);
        verifier.update(manifestBytes);
        valid = verifier.verify(signature);
      }
    } catch (GeneralSecurityException | RuntimeException e) {
      // A malformed DER signature is reported by some providers as an exception, by others as false.
      valid = false;
    }
    if (!valid) {
      errors.add(fileError(dir.resolve(MANIFEST), "the signature in " + SIGNATURE + " does not verify with the"
          + " trusted key " + keyId(trusted) + ": the manifest was changed after signing, or another key signed it"));
    }
    return valid;
  }
}
