package dev.meshguard.authz;

import static dev.meshguard.authz.JwtAuthnOutput.accepted;
import static dev.meshguard.authz.JwtAuthnOutput.realm;
import static dev.meshguard.authz.JwtTokenExtractor.extract;
import static dev.meshguard.authz.JwtVerifier.AUDIENCE_NOT_ALLOWED;

import com.google.protobuf.BoolValue;
import dev.meshguard.authz.JwtRulePlans.Plan;
import dev.meshguard.authz.JwtRulePlans.Provider;
import dev.meshguard.authz.JwtTokenExtractor.Location;
import dev.meshguard.authz.JwtVerifier.Rejection;
import dev.meshguard.authz.JwtVerifier.Verified;
import dev.meshguard.core.time.Clock;
import dev.meshguard.policy.CheckRequestAttributes;
import dev.meshguard.policy.HttpAttributes;
import dev.meshguard.policy.PolicyEngine;
import dev.meshguard.policy.RequestAttributes;
import dev.meshguard.policy.model.JwtRule;
import dev.meshguard.policy.model.RequestAuthentication;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.envoyproxy.envoy.service.auth.v3.DeniedHttpResponse;
import io.envoyproxy.envoy.service.auth.v3.OkHttpResponse;
import io.envoyproxy.envoy.type.v3.HttpStatus;
import io.envoyproxy.envoy.type.v3.StatusCode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Enforces Istio {@code RequestAuthentication} in the server, as Envoy's jwt_authn filter does
 * for the config istiod generates (istio {@code pilot/pkg/security/authn/policy_applier.go}: one
 * provider per {@code jwtRule}, {@code payload_in_metadata} the issuer, the requirement "any
 * provider, or the token missing" ({@code allow_missing})), for deployments without that filter.
 *
 * <ul>
 *   <li>A request that already carries a verified payload from {@code metadata_context}
 *       ({@code envoy.filters.http.jwt_authn}) is left as it is: Envoy verified it.
 *   <li>Tokens are taken from each rule's {@code fromHeaders} (name and prefix),
 *       {@code fromParams} (query parameters) and {@code fromCookies}; a rule with none of them
 *       uses Envoy's defaults, {@code Authorization: Bearer} and the {@code access_token}
 *       parameter. No token: the request goes on with no request principal.
 *   <li>Every token found must verify (Envoy {@code authenticator.cc}: "if a request has multiple
 *       tokens, all of them must be valid"), in Envoy's order: format; issuer (a token's {@code iss}
 *       picks the rule with that issuer among the rules reading that location, else one without an
 *       issuer); {@code nbf}/{@code exp} with the clock skew; {@code audiences}; the signature
 *       against the rule's {@code jwks} (inline, preferred) or {@code jwksUri} keys
 *       ({@link JwksCache}), refetched once on an unknown {@code kid}. A failure rejects the
 *       request with jwt_authn's status text: HTTP 401 with {@code WWW-Authenticate}, except
 *       403 for a disallowed audience (envoy {@code jwt_authn/filter.cc onComplete}).
 *   <li>A verified payload becomes the request's JWT payload in jwt_authn's shape: under its
 *       issuer in the {@code envoy.filters.http.jwt_authn} metadata, picked by
 *       {@link CheckRequestAttributes}' rule, with {@code scope}, {@code permission} and the rule's
 *       {@code spaceDelimitedClaims} split on spaces into lists ({@code normalize_payload_in_metadata}).
 *   <li>On allow: {@code outputPayloadToHeader} (the token's base64url payload segment, as Envoy
 *       forwards it) and {@code outputClaimToHeaders} (string, number and bool claims by dotted
 *       path) are set upstream; without {@code forwardOriginalToken} the header the token came
 *       from is removed (Envoy removes header locations only; tokens in query parameters and
 *       cookies stay, as there).
 * </ul>
 *
 * <p>Per workload, the rules are compiled once per policy revision and cached. Nothing here logs,
 * throws, or puts a token into a reason.
 *
 * <p>The parts: {@link JwtRulePlans} compiles the rules, {@link JwtTokenExtractor} finds the tokens,
 * {@link JwtVerifier} (with {@link JwsSignatures}) checks them, {@link JwtAuthnOutput} shapes what a
 * verified token produces.
 */
final class JwtAuthenticator {

  static final int UNAUTHENTICATED = io.grpc.Status.Code.UNAUTHENTICATED.value();

  /** The outcome for a request: go on (maybe with a payload and headers), or be rejected. */
  record Result(RequestAttributes attributes, String failure, int httpStatus, String realm,
      List<HeaderValueOption> headers, List<String> headersToRemove) {

    static Result pass(RequestAttributes attributes) {
      return new Result(attributes, null, 0, null, List.of(), List.of());
    }

    boolean rejected() {
      return failure != null;
    }

    /** {@code response} (an allow) with the token's upstream headers; other responses unchanged. */
    CheckResponse onAllow(CheckResponse response) {
      if ((headers.isEmpty() && headersToRemove.isEmpty()) || response.getStatus().getCode() != 0
          || !response.hasOkResponse()) {
        return response;
      }
      OkHttpResponse.Builder ok = response.getOkResponse().toBuilder();
      ok.addAllHeaders(headers);
      for (String name : headersToRemove) {
        if (!ok.getHeadersToRemoveList().contains(name)) {
          ok.addHeadersToRemove(name);
        }
      }
      return response.toBuilder().setOkResponse(ok).build();
    }

    /**
     * {@code denial} (a deny the service built for this request) reshaped as jwt_authn's answer:
     * gRPC status UNAUTHENTICATED, HTTP 401 (403 for audiences), the status text as the body and
     * {@code WWW-Authenticate: Bearer realm="<uri>", error="invalid_token"}.
     */
    @SuppressWarnings("deprecation")
    CheckResponse onReject(CheckResponse denial) {
      CheckResponse.Builder b = denial.toBuilder();
      b.setStatus(denial.getStatus().toBuilder().setCode(UNAUTHENTICATED));
      if (denial.hasDeniedResponse()) {
        StatusCode code = httpStatus == 403 ? StatusCode.Forbidden : StatusCode.Unauthorized;
        b.setDeniedResponse(DeniedHttpResponse.newBuilder()
            .setStatus(HttpStatus.newBuilder().setCode(code))
            .setBody(failure)
            .addHeaders(HeaderValueOption.newBuilder()
                .setHeader(HeaderValue.newBuilder().setKey("www-authenticate")
                    .setValue("Bearer realm=\"" + realm + "\", error=\"invalid_token\""))
                .setAppend(BoolValue.of(false))));
      }
      return b.build();
    }
  }

  private final JwksCache jwks;
  private final JwtRulePlans plans;
  private final JwtVerifier verifier;

  JwtAuthenticator(JwksCache jwks, JwtOptions options, Clock clock) {
    this.jwks = jwks;
    this.plans = new JwtRulePlans(options);
    this.verifier = new JwtVerifier(jwks, options, clock);
  }

  /**
   * Starts fetching every {@code jwksUri} of {@code engine}'s RequestAuthentications that uses
   * no inline {@code jwks}, without waiting: run when a policy revision is loaded, before it
   * serves, so the first request with a token finds keys (Envoy's ext_authz timeout, 200 ms by
   * default, is shorter than a cold fetch may take).
   */
  void prefetch(PolicyEngine engine) {
    for (RequestAuthentication ra : engine.requestAuthentications()) {
      for (JwtRule rule : ra.jwtRules()) {
        if ((rule.jwks() == null || rule.jwks().isEmpty()) && rule.jwksUri() != null && !rule.jwksUri().isEmpty()) {
          jwks.prefetch(rule.jwksUri());
        }
      }
    }
  }

  /** The request's authentication under {@code engine}'s RequestAuthentications. Never throws. */
  Result authenticate(PolicyEngine engine, RequestAttributes attributes) {
    if (attributes.http() == null || attributes.jwtPayload() != null || !engine.hasRequestAuthentications()) {
      return Result.pass(attributes);
    }
    Plan plan = plans.planFor(engine, attributes.workload());
    if (plan.locations().isEmpty()) {
      return Result.pass(attributes);
    }
    HttpAttributes http = attributes.http();
    List<Verified> verified = new ArrayList<>();
    for (Map.Entry<Location, List<Provider>> e : plan.locations().entrySet()) {
      String token = extract(e.getKey(), http);
      if (token == null) {
        continue;
      }
      try {
        verified.add(verifier.verify(token, e.getKey(), e.getValue()));
      } catch (Rejection r) {
        int status = r.getMessage().equals(AUDIENCE_NOT_ALLOWED) ? 403 : 401;
        return new Result(attributes, r.getMessage(), status, realm(http), List.of(), List.of());
      }
    }
    if (verified.isEmpty()) {
      return Result.pass(attributes);
    }
    return accepted(attributes, verified);
  }
}
