package dev.meshguard.policy.model;

import java.util.List;
import java.util.Objects;

/**
 * One {@code spec.jwtRules[]} entry of a RequestAuthentication (istio/api
 * {@code security/v1beta1/request_authentication.proto}, {@code JWTRule}).
 *
 * @param issuer {@code issuer}; empty when not set (Istio requires the issuer or the jwksUri)
 * @param audiences {@code audiences}; empty accepts any audience
 * @param jwksUri {@code jwksUri}, or null
 * @param jwks {@code jwks} inline JWK Set JSON, or null
 * @param fromHeaders {@code fromHeaders}; empty means {@code Authorization: Bearer}
 * @param fromParams {@code fromParams}; empty means {@code access_token} only when fromHeaders is empty too
 * @param fromCookies {@code fromCookies}
 * @param outputPayloadToHeader {@code outputPayloadToHeader}, or null
 * @param outputClaimToHeaders {@code outputClaimToHeaders}
 * @param forwardOriginalToken {@code forwardOriginalToken}
 * @param timeout {@code timeout} for fetching the JWKS, as written (e.g. {@code 5s}), or null
 * @param spaceDelimitedClaims {@code spaceDelimitedClaims}: claims besides {@code scope} and
 *     {@code permission} whose string value is split on spaces into a list (Istio 1.28+); empty
 *     when not set
 */
public record JwtRule(
    String issuer,
    List<String> audiences,
    String jwksUri,
    String jwks,
    List<JwtHeader> fromHeaders,
    List<String> fromParams,
    List<String> fromCookies,
    String outputPayloadToHeader,
    List<ClaimToHeader> outputClaimToHeaders,
    boolean forwardOriginalToken,
    String timeout,
    List<String> spaceDelimitedClaims) {

  public JwtRule {
    Objects.requireNonNull(issuer, "issuer");
    audiences = List.copyOf(audiences);
    fromHeaders = List.copyOf(fromHeaders);
    fromParams = List.copyOf(fromParams);
    fromCookies = List.copyOf(fromCookies);
    outputClaimToHeaders = List.copyOf(outputClaimToHeaders);
    spaceDelimitedClaims = List.copyOf(spaceDelimitedClaims);
  }

  /** A rule without {@code spaceDelimitedClaims}. */
  public JwtRule(String issuer, List<String> audiences, String jwksUri, String jwks, List<JwtHeader> fromHeaders,
      List<String> fromParams, List<String> fromCookies, String outputPayloadToHeader,
      List<ClaimToHeader> outputClaimToHeaders, boolean forwardOriginalToken, String timeout) {
    this(issuer, audiences, jwksUri, jwks, fromHeaders, fromParams, fromCookies, outputPayloadToHeader,
        outputClaimToHeaders, forwardOriginalToken, timeout, List.of());
  }

  /** {@code fromHeaders[]}: a header and the prefix (e.g. {@code "Bearer "}) before the token. */
  public record JwtHeader(String name, String prefix) {
    public JwtHeader {
      Objects.requireNonNull(name, "name");
      prefix = prefix == null ? "" : prefix;
    }
  }

  /** {@code outputClaimToHeaders[]}: copy a claim into a request header. */
  public record ClaimToHeader(String header, String claim) {
    public ClaimToHeader {
      Objects.requireNonNull(header, "header");
      Objects.requireNonNull(claim, "claim");
    }
  }
}
