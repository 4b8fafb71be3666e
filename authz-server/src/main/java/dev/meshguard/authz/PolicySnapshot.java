package dev.meshguard.authz;

import dev.meshguard.core.config.ConfigException;
import dev.meshguard.policy.MeshConfig;
import dev.meshguard.policy.PolicyEngine;
import dev.meshguard.policy.PolicyLoader;
import dev.meshguard.policy.PolicySet;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * One loaded policy revision: the compiled {@link PolicyEngine} and where and when it came from.
 * Immutable; the server holds the serving one in an {@code AtomicReference} and replaces it as a
 * whole on reload, so a request reads one reference and sees one consistent program.
 *
 * @param engine the compiled program
 * @param revision the policy set's content digest (equal policies, equal revision)
 * @param filesHash the hash of the files it was loaded from (what the poll compares)
 * @param loadedAt when it was loaded
 * @param policyCount how many AuthorizationPolicies it holds
 */
public record PolicySnapshot(PolicyEngine engine, String revision, String filesHash, Instant loadedAt,
    int policyCount) {

  public PolicySnapshot {
    Objects.requireNonNull(engine, "engine");
    Objects.requireNonNull(revision, "revision");
    Objects.requireNonNull(filesHash, "filesHash");
    Objects.requireNonNull(loadedAt, "loadedAt");
  }

  /**
   * Loads and compiles: policies from {@code paths} (files and directories), mesh settings from
   * {@code meshConfig} (null: Istio's defaults). Runs off the request path.
   *
   * @throws ConfigException with every error of every file
   */
  public static PolicySnapshot load(List<Path> paths, Path meshConfig, String filesHash, Instant now)
      throws ConfigException {
    MeshConfig mesh = meshConfig == null ? MeshConfig.DEFAULT : MeshConfig.load(meshConfig);
    PolicySet set = PolicyLoader.load(paths);
    PolicyEngine engine = PolicyEngine.compile(set, mesh);
    return new PolicySnapshot(engine, set.revision(), filesHash, now, engine.policyCount());
  }

  /**
   * Compiles an already loaded (e.g. verified bundle's) policy set with the mesh settings of
   * {@code meshConfig} (null: Istio's defaults). Runs off the request path.
   *
   * @throws ConfigException when the mesh config does not load or the set does not compile
   */
  public static PolicySnapshot compile(PolicySet set, Path meshConfig, String filesHash, Instant now)
      throws ConfigException {
    MeshConfig mesh = meshConfig == null ? MeshConfig.DEFAULT : MeshConfig.load(meshConfig);
    PolicyEngine engine = PolicyEngine.compile(set, mesh);
    return new PolicySnapshot(engine, set.revision(), filesHash, now, engine.policyCount());
  }

  /** An already compiled engine (tests, embedders). */
  public static PolicySnapshot of(PolicyEngine engine, Instant now) {
    return new PolicySnapshot(engine, engine.revision(), engine.revision(), now, engine.policyCount());
  }
}
