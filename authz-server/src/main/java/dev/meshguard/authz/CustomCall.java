package dev.meshguard.authz;

import dev.meshguard.policy.CustomDecider;
import dev.meshguard.policy.Decision;
import dev.meshguard.policy.ExtensionProvider;
import dev.meshguard.policy.MeshConfig;
import dev.meshguard.policy.model.Action;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.envoyproxy.envoy.service.auth.v3.DeniedHttpResponse;
import io.envoyproxy.envoy.service.auth.v3.OkHttpResponse;
import java.util.ArrayList;
import java.util.List;

/**
 * The CUSTOM providers of one request: asks each provider at most once (a dry-run CUSTOM policy
 * naming a provider already asked reuses the answer), applies its failure mode, counts the call,
 * and remembers the answers so that {@link #apply} can pass the provider's response through.
 * Confined to the thread deciding the request.
 *
 * <h2>Pass-through (as Envoy does with the provider's answer)</h2>
 * <ul>
 *   <li>allowed: the {@code ok_response} of every provider that allowed ({@code headers},
 *       {@code headers_to_remove}, {@code response_headers_to_add}) is added to ours;
 *   <li>denied by a CUSTOM policy: the deciding provider's {@code denied_response} (status,
 *       headers, body) replaces ours; a provider that failed under {@code failOpen: false} gives
 *       {@code statusOnError} and an empty body, as Envoy's error reply does.
 * </ul>
 * The provider's {@code dynamic_metadata} is not merged: ours carries the decision id and policy.
 */
final class CustomCall implements CustomDecider {

  private final CheckRequest request;
  private final MeshConfig mesh;
  private final CustomProviderClients clients;
  private final List<String> names = new ArrayList<>(1);
  private final List<ProviderVerdict> verdicts = new ArrayList<>(1);

  CustomCall(CheckRequest request, MeshConfig mesh, CustomProviderClients clients) {
    this.request = request;
    this.mesh = mesh;
    this.clients = clients;
  }

  @Override
  public boolean allows(String name) {
    ExtensionProvider provider = mesh.extensionProviders().get(name);
    if (provider == null) {
      return false; // the engine denies unknown providers before asking; never allow one
    }
    ProviderVerdict verdict = verdict(name);
    if (verdict == null) {
      long start = clients.clock().nanoTime();
      try {
        verdict = clients.client(provider).check(request);
      } catch (RuntimeException e) {
        verdict = ProviderVerdict.error(e.toString());
      }
      clients.metrics().call(name, verdict.kind(), clients.clock().nanoTime() - start);
      names.add(name);
      verdicts.add(verdict);
    }
    return switch (verdict.kind()) {
      case ALLOW -> true;
      case DENY -> false;
      case ERROR, TIMEOUT -> provider.failOpen();
    };
  }

  /** The answer {@code name} gave this request, or null when it was not asked. */
  ProviderVerdict verdict(String name) {
    int i = names.indexOf(name);
    return i < 0 ? null : verdicts.get(i);
  }

  /** {@code response} with the providers' headers, status and body passed through (class comment). */
  CheckResponse apply(CheckResponse response, Decision decision) {
    if (verdicts.isEmpty() || decision == null) {
      return response;
    }
    if (response.hasOkResponse()) {
      OkHttpResponse.Builder ok = response.getOkResponse().toBuilder();
      boolean changed = false;
      for (ProviderVerdict v : verdicts) {
        if (v.kind() == ProviderVerdict.Kind.ALLOW && v.response().hasOkResponse()) {
          OkHttpResponse theirs = v.response().getOkResponse();
          ok.addAllHeaders(theirs.getHeadersList())
              .addAllHeadersToRemove(theirs.getHeadersToRemoveList())
              .addAllResponseHeadersToAdd(theirs.getResponseHeadersToAddList());
          changed = true;
        }
      }
      return changed ? response.toBuilder().setOkResponse(ok).build() : response;
    }
    if (response.getStatus().getCode() != 0 && decision.action() == Action.CUSTOM && !decision.custom().isEmpty()) {
      String name = decision.custom().get(decision.custom().size() - 1);
      ProviderVerdict v = verdict(name);
      ExtensionProvider provider = mesh.extensionProviders().get(name);
      if (v == null || provider == null) {
        return response;
      }
      CheckResponse.Builder b = response.toBuilder();
      if (v.failed()) {
        b.getStatusBuilder().setMessage(response.getStatus().getMessage() + " (provider " + v.kind().tag() + ": "
            + v.detail() + "; failOpen is false)");
        if (response.hasDeniedResponse()) {
          b.setDeniedResponse(DeniedHttpResponse.newBuilder().setStatus(io.envoyproxy.envoy.type.v3.HttpStatus
              .newBuilder().setCode(HttpCustomProvider.statusCode(provider.statusOnError()))));
        }
      } else if (response.hasDeniedResponse() && v.response().hasDeniedResponse()) {
        b.setDeniedResponse(v.response().getDeniedResponse());
      }
      return b.build();
    }
    return response;
  }
}
