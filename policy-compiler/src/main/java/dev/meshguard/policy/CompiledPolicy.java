package dev.meshguard.policy;

import dev.meshguard.policy.model.Action;
import dev.meshguard.policy.model.AuthorizationPolicy;
import java.util.List;

/**
 * One policy, compiled once per engine: each rule for HTTP and for TCP (or why it never matches
 * there). Which workloads it applies to is decided per workload.
 */
final class CompiledPolicy {

  /** How a CUSTOM policy's provider resolves in meshConfig. */
  enum Provider {
    /** Not CUSTOM. */
    NONE,
    GRPC,
    HTTP,
    /** Not in {@code extensionProviders}: Istio turns the policy's rules into DENY rules. */
    UNKNOWN
  }

  final AuthorizationPolicy source;
  final String ref;
  /** Position in (namespace, name) order: policies are always considered in this order. */
  final int order;
  final Provider provider;
  final List<RuleCompiler.Result> http;
  final List<RuleCompiler.Result> tcp;

  CompiledPolicy(AuthorizationPolicy source, int order, Provider provider, List<RuleCompiler.Result> http,
      List<RuleCompiler.Result> tcp) {
    this.source = source;
    this.ref = source.ref();
    this.order = order;
    this.provider = provider;
    this.http = List.copyOf(http);
    this.tcp = List.copyOf(tcp);
  }

  Action action() {
    return source.action();
  }

  boolean dryRun() {
    return source.dryRun();
  }

  /** The CUSTOM provider's name ("" when none is given). */
  String providerName() {
    return source.provider() == null ? "" : source.provider();
  }

  /** CUSTOM with an HTTP provider does nothing on TCP (Istio skips its ext_authz filter there). */
  boolean appliesTo(boolean http) {
    return http || provider != Provider.HTTP;
  }
}
