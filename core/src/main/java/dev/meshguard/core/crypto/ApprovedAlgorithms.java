package dev.meshguard.core.crypto;

import dev.meshguard.core.config.ConfigException;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The algorithms meshguard accepts in FIPS mode, checked at start-up for every algorithm choice
 * in the configuration (keys, signatures, digests), so that a non-approved configuration fails
 * to start with a message naming the setting, instead of failing on the first request.
 *
 * <p>The lists are the FIPS 140-3 approved algorithms (BC-FJA 2.1 security policy) narrowed to
 * what meshguard supports. Ed25519 is absent from the BCFIPS provider; secp256k1 and P-521 are
 * allowed by the module but not by us (see {@link KeyAlgorithm}). The module's own checks
 * ({@code FipsUnapprovedOperationError} on RSA-1024 key generation or SHA-1 signing) are the
 * second line: {@link Crypto#generateKeyPair} and {@link Crypto#sign} turn them into the same
 * kind of {@link ConfigException}.
 */
public final class ApprovedAlgorithms {

  /** Key algorithms, as written in config. */
  public static final List<String> KEY_ALGORITHMS = KeyAlgorithm.CONFIG_NAMES;

  /** JCA signature algorithm names (PKCS#1 v1.5, RSASSA-PSS with MGF1, ECDSA). */
  public static final List<String> SIGNATURE_ALGORITHMS = List.of(
      "SHA256withECDSA", "SHA384withECDSA", "SHA512withECDSA",
      "SHA256withRSA", "SHA384withRSA", "SHA512withRSA",
      "SHA256withRSAandMGF1", "SHA384withRSAandMGF1", "SHA512withRSAandMGF1");

  /** JCA digest names (FIPS 180-4 SHA-2, FIPS 202 SHA-3). */
  public static final List<String> DIGEST_ALGORITHMS = List.of(
      "SHA-256", "SHA-384", "SHA-512", "SHA3-256", "SHA3-384", "SHA3-512");

  private static final Pattern RSA_KEY = Pattern.compile("rsa-(\\d{1,6})");
  private static final Pattern EC_KEY = Pattern.compile("ecdsa-(.+)");
  private static final Pattern SIGNATURE = Pattern.compile("(.+?)with(.+)", Pattern.CASE_INSENSITIVE);

  private ApprovedAlgorithms() {}

  /** True when {@code algorithm} is on one of the lists (JCA names compare case-insensitively). */
  public static boolean isApproved(String algorithm) {
    return problem(algorithm) == null;
  }

  /**
   * Checks one algorithm choice.
   *
   * @param setting the configuration key the choice came from, e.g. {@code ca.key_algorithm}
   * @param algorithm a key algorithm ({@code ecdsa-p256}), a JCA signature algorithm
   *     ({@code SHA256withECDSA}) or a JCA digest ({@code SHA-256})
   * @throws ConfigException naming the setting, the algorithm, why it is refused and what to use
   */
  public static void requireApproved(String setting, String algorithm) throws ConfigException {
    String problem = problem(algorithm);
    if (problem != null) {
      throw ConfigException.forSetting(setting, problem);
    }
  }

  /** Null when approved, else the full message. */
  static String problem(String algorithm) {
    if (algorithm.isEmpty()) {
      return "no algorithm given; use one of " + String.join(", ", KEY_ALGORITHMS);
    }
    String quoted = "\"" + algorithm + "\"";
    String lower = algorithm.toLowerCase(Locale.ROOT);
    if (lower.equals("ed25519") || lower.equals("ed448") || lower.equals("eddsa")) {
      return "algorithm " + quoted + " is not approved: EdDSA is not available from the Bouncy Castle FIPS provider;"
          + " use ecdsa-p256 keys with SHA256withECDSA";
    }
    if (KEY_ALGORITHMS.contains(lower)) {
      return null;
    }
    Matcher rsa = RSA_KEY.matcher(lower);
    if (rsa.matches()) {
      int bits = Integer.parseInt(rsa.group(1));
      String why = bits < 2048
          ? "RSA keys shorter than 2048 bits are not FIPS-approved"
          : "RSA keys must have 2048, 3072 or 4096 bits";
      return keyProblem(quoted, why);
    }
    if (EC_KEY.matcher(lower).matches()) {
      return keyProblem(quoted, "only the NIST curves P-256 (ecdsa-p256) and P-384 (ecdsa-p384) are allowed");
    }
    Matcher signature = SIGNATURE.matcher(algorithm);
    if (signature.matches()) {
      if (containsIgnoreCase(SIGNATURE_ALGORITHMS, algorithm)) {
        return null;
      }
      String why = weakDigest(signature.group(1));
      return "signature algorithm " + quoted + " is not approved: "
          + (why != null ? why + " for signatures" : "unknown or unsupported signature algorithm")
          + "; use one of " + String.join(", ", SIGNATURE_ALGORITHMS);
    }
    if (containsIgnoreCase(DIGEST_ALGORITHMS, algorithm)) {
      return null;
    }
    String why = weakDigest(algorithm);
    if (why != null) {
      return "digest algorithm " + quoted + " is not approved: " + why
          + "; use one of " + String.join(", ", DIGEST_ALGORITHMS);
    }
    return "algorithm " + quoted + " is not approved: unknown algorithm; approved are the key algorithms "
        + String.join(", ", KEY_ALGORITHMS) + ", the signature algorithms "
        + String.join(", ", SIGNATURE_ALGORITHMS) + " and the digests " + String.join(", ", DIGEST_ALGORITHMS);
  }

  private static String keyProblem(String quoted, String why) {
    return "key algorithm " + quoted + " is not approved: " + why + "; use one of " + String.join(", ", KEY_ALGORITHMS);
  }

  /** Why a digest name is refused when it is a known weak one, else null. */
  private static String weakDigest(String digest) {
    String normalized = digest.toUpperCase(Locale.ROOT).replace("-", "");
    return switch (normalized) {
      case "MD2", "MD4", "MD5" -> digest + " is not FIPS-approved";
      case "SHA", "SHA1" -> "SHA-1 is disallowed (NIST SP 800-131A)";
      default -> null;
    };
  }

  private static boolean containsIgnoreCase(List<String> names, String name) {
    for (String candidate : names) {
      if (candidate.equalsIgnoreCase(name)) {
        return true;
      }
    }
    return false;
  }
}
