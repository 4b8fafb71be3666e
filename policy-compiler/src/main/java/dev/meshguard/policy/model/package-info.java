/**
 * The policy model: Istio's {@code security.istio.io} {@code AuthorizationPolicy} and
 * {@code RequestAuthentication} (v1 and v1beta1, which share one proto) and meshguard's superset
 * {@code meshguard.dev/v1}, as immutable records, exactly as written by the user (no expansion,
 * no defaults applied beyond what the API itself defines).
 *
 * <p>Lists are never null: proto3 cannot tell an empty list from an absent one, and neither can
 * the evaluator. The parser, which can tell them apart, reports {@code from: []} and friends as
 * errors before a model is built. Source: istio/api {@code security/v1beta1/authorization_policy.proto}.
 */
package dev.meshguard.policy.model;
