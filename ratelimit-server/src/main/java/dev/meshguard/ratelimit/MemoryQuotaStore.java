package dev.meshguard.ratelimit;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Quotas in this process: a {@link QuotaSnapshot} behind an {@link AtomicReference}, replaced
 * whole on every change. Writers are serialised (changes are rare); readers never wait.
 */
public final class MemoryQuotaStore implements QuotaStore {

  private final AtomicReference<QuotaSnapshot> current = new AtomicReference<>(QuotaSnapshot.EMPTY);

  @Override
  public QuotaSnapshot snapshot() {
    return current.get();
  }

  @Override
  public synchronized TenantQuota put(TenantQuota quota, boolean force) throws QuotaManagedException {
    Objects.requireNonNull(quota, "quota");
    Map<String, TenantQuota> next = new HashMap<>(current.get().byTenant());
    QuotaImports.checkEditable(next.get(quota.tenant()), force);
    TenantQuota previous = next.put(quota.tenant(), quota);
    current.set(new QuotaSnapshot(next));
    return previous;
  }

  @Override
  public synchronized TenantQuota delete(String tenant, boolean force) throws QuotaManagedException {
    Objects.requireNonNull(tenant, "tenant");
    Map<String, TenantQuota> next = new HashMap<>(current.get().byTenant());
    QuotaImports.checkEditable(next.get(tenant), force);
    TenantQuota previous = next.remove(tenant);
    current.set(new QuotaSnapshot(next));
    return previous;
  }

  @Override
  public synchronized ImportResult importYaml(List<TenantQuota> declared) {
    Map<String, TenantQuota> next = new HashMap<>(current.get().byTenant());
    QuotaImports.Plan plan = QuotaImports.plan(next, declared);
    next.putAll(plan.writes());
    plan.deletes().forEach(next::remove);
    current.set(new QuotaSnapshot(next));
    return plan.result();
  }

  @Override
  public void refresh() {}
}
