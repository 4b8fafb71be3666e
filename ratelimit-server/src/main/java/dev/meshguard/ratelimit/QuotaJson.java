package dev.meshguard.ratelimit;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.DateTimeException;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A {@link TenantQuota} as JSON (snake_case keys): how {@link RedisQuotaStore} keeps quotas in its
 * hash, and the form the admin API can answer with.
 *
 * <pre>{@code
 * {"tenant":"acme","time_zone":"Europe/Berlin","unlimited":false,"managed_by":"yaml",
 *  "limits":[{"name":"monthly","period":"month","amount":1000000,"enforcement":"hard"},
 *            {"name":"per-second","algorithm":"fixed_window","window_seconds":1,"amount":200,"enforcement":"hard"}]}
 * }</pre>
 */
public final class QuotaJson {

  private static final ObjectMapper MAPPER = new ObjectMapper();

  private QuotaJson() {}

  /** The quota as one line of JSON. */
  public static String write(TenantQuota quota) {
    ObjectNode root = MAPPER.createObjectNode();
    root.put("tenant", quota.tenant());
    root.put("time_zone", quota.zone().getId());
    root.put("unlimited", quota.unlimited());
    root.put("managed_by", quota.managedBy().configName());
    ArrayNode limits = root.putArray("limits");
    for (QuotaLimit limit : quota.limits()) {
      ObjectNode l = limits.addObject();
      l.put("name", limit.name());
      switch (limit.period()) {
        case QuotaPeriod.Calendar c -> l.put("period", c.unit().configName());
        case QuotaPeriod.Window w -> {
          l.put("algorithm", w.algorithm().configName());
          l.put("window_seconds", w.windowSeconds());
        }
      }
      l.put("amount", limit.amount());
      l.put("enforcement", limit.enforcement().configName());
    }
    try {
      return MAPPER.writeValueAsString(root);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a tree of strings and numbers always serialises", e);
    }
  }

  /**
   * Reads what {@link #write} wrote.
   *
   * @throws IllegalArgumentException when the text is not such a quota, saying why
   */
  public static TenantQuota read(String json) {
    JsonNode root;
    try {
      root = MAPPER.readTree(json);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("not JSON: " + e.getOriginalMessage(), e);
    }
    try {
      List<QuotaLimit> limits = new ArrayList<>();
      for (JsonNode l : root.path("limits")) {
        QuotaPeriod period;
        if (l.has("period")) {
          period = new QuotaPeriod.Calendar(required(CalendarUnit.parse(l.path("period").asText()), "period"));
        } else {
          period = new QuotaPeriod.Window(required(Algorithm.parse(l.path("algorithm").asText()), "algorithm"),
              l.path("window_seconds").asLong());
        }
        limits.add(new QuotaLimit(l.path("name").asText(), period, l.path("amount").asLong(-1),
            QuotaLimit.Enforcement.valueOf(l.path("enforcement").asText().toUpperCase(Locale.ROOT))));
      }
      return new TenantQuota(root.path("tenant").asText(), ZoneId.of(root.path("time_zone").asText("UTC")), limits,
          root.path("unlimited").asBoolean(false),
          TenantQuota.ManagedBy.valueOf(root.path("managed_by").asText().toUpperCase(Locale.ROOT)));
    } catch (DateTimeException | IllegalArgumentException | NullPointerException e) {
      throw new IllegalArgumentException("not a tenant quota: " + e.getMessage(), e);
    }
  }

  private static <T> T required(T value, String field) {
    if (value == null) {
      throw new IllegalArgumentException("unknown " + field);
    }
    return value;
  }
}
