package dev.meshguard.ratelimit;

import java.util.List;

/**
 * Where tenant quotas (the definitions, not the usage) live at runtime: the source of truth that
 * the YAML directory is imported into and that the admin API edits. {@link MemoryQuotaStore} for
 * one instance; {@link RedisQuotaStore} shares them between replicas through a Redis hash.
 *
 * <p>The request path only calls {@link #snapshot()}, which never blocks and never fails: it is
 * the last snapshot this replica knows. Changes made through this store show at once here, and on
 * other replicas after their next {@link #refresh()}.
 */
public interface QuotaStore extends AutoCloseable {

  /** The quotas as this replica knows them now. */
  QuotaSnapshot snapshot();

  /**
   * Creates or replaces a tenant's quota (or the default quota).
   *
   * @param force replace a quota managed by YAML too (the next import puts the YAML back)
   * @return the quota it replaced, or null
   * @throws QuotaManagedException when the tenant's quota is managed by YAML and not forced
   * @throws StoreException when the store cannot be written
   */
  TenantQuota put(TenantQuota quota, boolean force) throws QuotaManagedException;

  /**
   * Deletes a tenant's quota.
   *
   * @return the quota deleted, or null when there was none
   * @throws QuotaManagedException when it is managed by YAML and not forced
   */
  TenantQuota delete(String tenant, boolean force) throws QuotaManagedException;

  /**
   * Imports the quotas declared in YAML: each is created or replaces what the tenant had (managed
   * by the API or not), marked {@link TenantQuota.ManagedBy#YAML}; quotas managed by YAML that
   * are no longer declared are deleted; quotas managed by the API are left alone.
   *
   * @return what changed, for the log and the audit
   */
  ImportResult importYaml(List<TenantQuota> declared);

  /** Re-reads the quotas from where they are kept (other replicas' changes); a no-op in memory. */
  void refresh();

  @Override
  default void close() {}

  /** What an import changed, tenants sorted. */
  record ImportResult(List<String> created, List<String> replaced, List<String> deleted, List<String> unchanged) {
    public ImportResult {
      created = List.copyOf(created);
      replaced = List.copyOf(replaced);
      deleted = List.copyOf(deleted);
      unchanged = List.copyOf(unchanged);
    }
  }

  /** Thrown when the API would change a quota that the YAML manages. */
  final class QuotaManagedException extends Exception {
    private static final long serialVersionUID = 1L;

    public QuotaManagedException(String tenant) {
      super("the quota of tenant '" + tenant + "' is managed by YAML; change its file, or force the change (the next "
          + "import restores the file's quota)");
    }
  }
}
