/**
 * The policy engine's API: load a {@link dev.meshguard.policy.PolicySet} from files, compile it
 * with a {@link dev.meshguard.policy.MeshConfig} into an immutable engine, and evaluate
 * {@link dev.meshguard.policy.RequestAttributes} into a {@link dev.meshguard.policy.Decision}. The
 * authz server, the CLI and the tests all call the same evaluator.
 */
package dev.meshguard.policy;
