package dev.meshguard.ratelimit;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/** The rules of a YAML import, shared by the quota stores: what to write and delete. */
final class QuotaImports {

  private QuotaImports() {}

  /**
   * The plan of an import into {@code current}.
   *
   * @param writes quotas to create or replace, marked as managed by YAML
   * @param deletes tenants to delete
   */
  record Plan(Map<String, TenantQuota> writes, List<String> deletes, QuotaStore.ImportResult result) {}

  static Plan plan(Map<String, TenantQuota> current, List<TenantQuota> declared) {
    Map<String, TenantQuota> wanted = new TreeMap<>();
    for (TenantQuota quota : declared) {
      TenantQuota previous = wanted.put(quota.tenant(), quota.withManagedBy(TenantQuota.ManagedBy.YAML));
      if (previous != null) {
        throw new IllegalArgumentException("tenant '" + quota.tenant() + "' is declared twice");
      }
    }
    Map<String, TenantQuota> writes = new HashMap<>();
    List<String> created = new ArrayList<>();
    List<String> replaced = new ArrayList<>();
    List<String> unchanged = new ArrayList<>();
    for (TenantQuota quota : wanted.values()) {
      TenantQuota existing = current.get(quota.tenant());
      if (existing == null) {
        created.add(quota.tenant());
        writes.put(quota.tenant(), quota);
      } else if (existing.equals(quota)) {
        unchanged.add(quota.tenant());
      } else {
        replaced.add(quota.tenant());
        writes.put(quota.tenant(), quota);
      }
    }
    List<String> deletes = new ArrayList<>();
    for (TenantQuota existing : new TreeMap<>(current).values()) {
      if (existing.managedBy() == TenantQuota.ManagedBy.YAML && !wanted.containsKey(existing.tenant())) {
        deletes.add(existing.tenant());
      }
    }
    return new Plan(writes, deletes, new QuotaStore.ImportResult(created, replaced, deletes, unchanged));
  }

  static void checkEditable(TenantQuota existing, boolean force) throws QuotaStore.QuotaManagedException {
    if (existing != null && existing.managedBy() == TenantQuota.ManagedBy.YAML && !force) {
      throw new QuotaStore.QuotaManagedException(Objects.requireNonNull(existing.tenant()));
    }
  }
}
