package dev.meshguard.authz;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.meshguard.core.time.Clock;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Verifies {@code source.certificate}, the URL-encoded PEM of the peer's leaf certificate Envoy
 * sends with {@code include_peer_certificate: true}: it must parse, be within its validity, chain
 * to the trust bundle (when one is configured), and its first URI SAN must equal
 * {@code source.principal} — otherwise the principal a policy sees is not the one the
 * certificate proves.
 *
 * <p>Envoy sends the same certificate on every request of a connection, so results are cached by
 * the encoded text (bounded; entries expire after {@link #CACHE_TTL}, and a cached good
 * certificate is still checked against its {@code notAfter} on each use). The clock is injected.
 */
final class PeerCertificates {

  static final Duration CACHE_TTL = Duration.ofMinutes(5);
  static final int CACHE_SIZE = 10_000;
  /** A leaf PEM is a few KiB; anything much larger is not one. */
  static final int MAX_ENCODED_BYTES = 64 * 1024;

  /** What a certificate proved: its URI SAN and validity; or why it proved nothing. */
  sealed interface Result {
    record Valid(String uriSan, Instant notAfter) implements Result {}

    record Invalid(String reason) implements Result {}
  }

  private final Set<TrustAnchor> anchors; // empty: chain not checked
  private final Clock clock;
  private final Cache<String, Result> cache;

  PeerCertificates(List<X509Certificate> trustBundle, Clock clock) {
    Set<TrustAnchor> set = new HashSet<>();
    for (X509Certificate ca : trustBundle) {
      set.add(new TrustAnchor(ca, null));
    }
    this.anchors = Set.copyOf(set);
    this.clock = clock;
    this.cache = Caffeine.newBuilder()
        .maximumSize(CACHE_SIZE)
        .expireAfterWrite(CACHE_TTL)
        .ticker(clock::nanoTime)
        .executor(Runnable::run)
        .build();
  }

  boolean checksChain() {
    return !anchors.isEmpty();
  }

  /**
   * Null when {@code encoded} is a valid certificate for {@code principal}; otherwise why not.
   * Never throws.
   */
  String check(String encoded, String principal) {
    if (encoded.length() > MAX_ENCODED_BYTES) {
      return "source.certificate is larger than " + MAX_ENCODED_BYTES + " bytes";
    }
    Result result = cache.get(encoded, this::verify);
    return switch (result) {
      case Result.Invalid invalid -> invalid.reason();
      case Result.Valid valid when clock.now().isAfter(valid.notAfter()) -> "source.certificate expired at "
          + valid.notAfter();
      case Result.Valid valid when !valid.uriSan().equals(principal) -> "source.certificate's URI SAN \""
          + valid.uriSan() + "\" is not source.principal \"" + principal + "\"";
      case Result.Valid valid -> null;
    };
  }

  private Result verify(String encoded) {
    String pem = percentDecode(encoded);
    if (pem == null) {
      return new Result.Invalid("source.certificate is not URL-encoded PEM");
    }
    X509Certificate leaf;
    try {
      CertificateFactory factory = CertificateFactory.getInstance("X.509");
      Collection<? extends java.security.cert.Certificate> certs =
          factory.generateCertificates(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)));
      if (certs.isEmpty() || !(certs.iterator().next() instanceof X509Certificate x509)) {
        return new Result.Invalid("source.certificate holds no X.509 certificate");
      }
      leaf = x509;
    } catch (GeneralSecurityException | RuntimeException e) {
      return new Result.Invalid("source.certificate does not parse: " + e.getMessage());
    }
    Instant now = clock.now();
    if (now.isBefore(leaf.getNotBefore().toInstant())) {
      return new Result.Invalid("source.certificate is not valid before " + leaf.getNotBefore().toInstant());
    }
    if (!anchors.isEmpty()) {
      try {
        PKIXParameters params = new PKIXParameters(anchors);
        params.setRevocationEnabled(false);
        params.setDate(Date.from(now));
        CertPathValidator.getInstance("PKIX").validate(
            CertificateFactory.getInstance("X.509").generateCertPath(List.of(leaf)), params);
      } catch (GeneralSecurityException | RuntimeException e) {
        return new Result.Invalid("source.certificate does not chain to the trust bundle: " + e.getMessage());
      }
    }
    String uri = firstUriSan(leaf);
    if (uri == null) {
      return new Result.Invalid("source.certificate has no URI SAN");
    }
    return new Result.Valid(uri, leaf.getNotAfter().toInstant());
  }

  private static String firstUriSan(X509Certificate cert) {
    try {
      Collection<List<?>> sans = cert.getSubjectAlternativeNames();
      if (sans == null) {
        return null;
      }
      for (List<?> san : sans) {
        if (san.size() >= 2 && Integer.valueOf(6).equals(san.get(0)) && san.get(1) instanceof String uri) {
          return uri;
        }
      }
    } catch (java.security.cert.CertificateParsingException e) {
      return null;
    }
    return null;
  }

  /**
   * Decodes {@code %XX} escapes only. Written by hand because {@link java.net.URLDecoder} is a
   * form decoder that turns {@code +} (frequent in base64) into a space.
   *
   * @return null when an escape is malformed or the result is not ASCII
   */
  static String percentDecode(String s) {
    StringBuilder out = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '%') {
        if (i + 2 >= s.length()) {
          return null;
        }
        int hi = Character.digit(s.charAt(i + 1), 16);
        int lo = Character.digit(s.charAt(i + 2), 16);
        if (hi < 0 || lo < 0) {
          return null;
        }
        c = (char) (hi * 16 + lo);
        i += 2;
      }
      if (c > 0x7f) {
        return null;
      }
      out.append(c);
    }
    return out.toString();
  }
}
