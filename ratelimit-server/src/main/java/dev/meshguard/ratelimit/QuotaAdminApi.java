package dev.meshguard.ratelimit;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import dev.meshguard.core.spiffe.SpiffeId;
import dev.meshguard.core.time.Clock;
import dev.meshguard.core.tls.SpiffeIdAllowList;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.System.Logger.Level;
import java.net.InetAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The tenant quota admin API, JSON over HTTP on the admin port ({@value #PATH}):
 *
 * <pre>
 * PUT    /v1/quotas/{tenant}[?force=true]   create or replace (body: {@link QuotaJson}); 201 created, 200 replaced
 * GET    /v1/quotas/{tenant}                the tenant's own quota
 * DELETE /v1/quotas/{tenant}[?force=true]   delete it
 * GET    /v1/quotas/{tenant}/usage          usage of every limit of the quota that applies
 * POST   /v1/quotas/{tenant}/reset          usage back to 0 for the current periods
 * GET    /v1/quotas[?above=RATIO]           tenants; with above: those whose usage of a limit exceeds RATIO
 * </pre>
 *
 * <p>Errors are {@code {"error": "...", "field": "..."}}: 400 with the field at fault, 401 without
 * the right bearer token, 403 from a non-loopback address without a token configured, 404 for a
 * tenant without a quota, 409 for a YAML-managed tenant changed without {@code force}, 503 when
 * the store cannot answer.
 *
 * <p>Every change is told to the {@link ChangeListener} (the CLI writes it to the audit log,
 * durably) with the caller and the before/after values; when the listener says it could not
 * record the change, the answer is 500 (the change itself stays made: the store has no
 * transaction to roll back into, so the caller is told to look).
 *
 * <p>Creating the API also serves it as {@code meshguard.quota.v1.QuotaService} on the server's
 * gRPC port ({@link QuotaGrpcService}), where loopback gives no pass: a caller is admitted by the
 * SPIFFE ID of its client certificate when {@code ratelimit.quota.admin_spiffe_ids} lists it (the
 * port must serve TLS), or by the bearer token; see {@link #grpcCaller}.
 *
 * <p>The token is read once, when the API is created, and compared in constant time
 * ({@link MessageDigest#isEqual}); it is never logged nor echoed.
 */
public final class QuotaAdminApi implements HttpHandler {

  /** Where the API is served on the admin server. */
  public static final String PATH = "/v1/quotas";
  /** Largest request body read. */
  static final int MAX_BODY_BYTES = 64 * 1024;
  /**
   * Caller identity when a bearer token was presented: a label, never the token nor a digest of it
   * (a digest in the audit log would let its readers test guesses of a weak token offline).
   */
  public static final String CALLER_TOKEN = "admin-token";
  /** Caller identity on the loopback interface without a token configured. */
  public static final String CALLER_LOCAL = "local";

  private static final System.Logger LOG = System.getLogger(QuotaAdminApi.class.getName());
  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * One change made through the API.
   *
   * @param operation {@code create}, {@code replace}, {@code delete} or {@code reset}
   * @param tenant the tenant changed
   * @param caller the SPIFFE ID of a quota admin's client certificate, {@value #CALLER_TOKEN} or
   *     {@value #CALLER_LOCAL}
   * @param sourceIp the caller's address
   * @param before the quota (or for {@code reset} the usage: tenant, quota, and per limit name,
   *     period, enforcement, amount, used, remaining, resets_at) before, as JSON without
   *     floating-point numbers; null when none
   * @param after the same after; null when none
   */
  public record Change(String operation, String tenant, String caller, String sourceIp, String before, String after) {}

  /** Records changes; returns false when it could not (the caller is then answered 500). */
  @FunctionalInterface
  public interface ChangeListener {
    boolean changed(Change change);
  }

  private final QuotaStore store;
  private final RateLimitEngine engine;
  private final Clock clock;
  private final byte[] token; // null: no token required on loopback
  private final SpiffeIdAllowList admins; // empty: nobody by certificate
  private final TenantIndex tenants;
  private final ChangeListener listener;

  /**
   * @param admins who may call the gRPC service by client certificate; empty: nobody
   * @param tenants the tenants requests named, for {@link #listAbove}
   */
  QuotaAdminApi(QuotaStore store, RateLimitEngine engine, Clock clock, byte[] token, SpiffeIdAllowList admins,
      TenantIndex tenants, ChangeListener listener) {
    this.admins = Objects.requireNonNull(admins, "admins");
    this.tenants = Objects.requireNonNull(tenants, "tenants");
    this.store = Objects.requireNonNull(store, "store");
    this.engine = Objects.requireNonNull(engine, "engine");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.token = token;
    this.listener = Objects.requireNonNull(listener, "listener");
  }

  /**
   * The API over a running server.
   *
   * @param tokenFile a file holding the bearer token (surrounding white space ignored); null:
   *     none, and only loopback callers are served
   * @throws IOException when the token file cannot be read or is empty (the message names the
   *     file, never its content)
   */
  public static QuotaAdminApi create(RateLimitServer server, Path tokenFile, Clock clock, ChangeListener listener)
      throws IOException {
    byte[] token = null;
    if (tokenFile != null) {
      String text = Files.readString(tokenFile).strip();
      if (text.isEmpty()) {
        throw new IOException("the quota API token file " + tokenFile + " is empty");
      }
      token = text.getBytes(StandardCharsets.UTF_8);
    }
    QuotaAdminApi api = new QuotaAdminApi(server.quotaStore(), server.engine(), clock, token, server.quotaAdmins(),
        server.tenantIndex(), listener);
    server.quotaGrpc().enable(api); // the same operations on the gRPC port: admin certificate or token
    return api;
  }

  /** An API error: status, message and the field at fault (null when none). */
  static final class ApiException extends Exception {
    private static final long serialVersionUID = 1L;
    final int status;
    final String field;

    ApiException(int status, String field, String message) {
      super(message, null, false, false);
      this.status = status;
      this.field = field;
    }
  }

  /** Who called: an admin's SPIFFE ID, {@value #CALLER_TOKEN} or {@value #CALLER_LOCAL}, and from where. */
  record Caller(String identity, String sourceIp) {}

  /** An answer: HTTP status and JSON document. */
  record Reply(int status, String json) {}

  @Override
  public void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      Reply reply;
      try {
        Caller caller = authenticate(exchange);
        reply = route(exchange, caller);
      } catch (ApiException e) {
        ObjectNode error = JSON.createObjectNode();
        error.put("error", e.getMessage());
        if (e.field != null) {
          error.put("field", e.field);
        }
        if (e.status == 401) {
          exchange.getResponseHeaders().set("WWW-Authenticate", "Bearer realm=\"meshguard\"");
        }
        reply = new Reply(e.status, error.toString());
      } catch (StoreException e) {
        reply = new Reply(503, error("the quota store cannot answer: " + e.getMessage()));
      } catch (RuntimeException e) {
        LOG.log(Level.WARNING, "quota API: {0} {1} failed: {2}", exchange.getRequestMethod(),
            exchange.getRequestURI().getRawPath(), e.toString());
        reply = new Reply(500, error("internal error: " + e.getClass().getSimpleName()));
      }
      byte[] body = (reply.json() + "\n").getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", "application/json");
      exchange.getResponseHeaders().set("Cache-Control", "no-store");
      exchange.sendResponseHeaders(reply.status(), body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    }
  }

  private static String error(String message) {
    ObjectNode error = JSON.createObjectNode();
    error.put("error", message);
    return error.toString();
  }

  private Caller authenticate(HttpExchange exchange) throws ApiException {
    InetAddress remote = exchange.getRemoteAddress().getAddress();
    String sourceIp = remote.getHostAddress();
    if (token == null) {
      if (!remote.isLoopbackAddress()) {
        throw new ApiException(403, null, "the quota API serves loopback callers only unless "
            + "ratelimit.quota.api_token_file is set");
      }
      return new Caller(CALLER_LOCAL, sourceIp);
    }
    return bearer(exchange.getRequestHeaders().getFirst("Authorization"), sourceIp);
  }

  /** Whether a token is configured (the gRPC service refuses every call without one). */
  boolean tokenConfigured() {
    return token != null;
  }

  /**
   * Checks an {@code Authorization} header value against the token (constant time).
   *
   * @throws ApiException 401 when it is missing or wrong, or no token is configured
   */
  Caller bearer(String header, String sourceIp) throws ApiException {
    if (token == null) {
      throw new ApiException(401, null, "no token is configured (ratelimit.quota.api_token_file)");
    }
    if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
      throw new ApiException(401, null, "a bearer token is required (Authorization: Bearer ...)");
    }
    byte[] presented = header.substring(7).strip().getBytes(StandardCharsets.UTF_8);
    if (!MessageDigest.isEqual(presented, token)) {
      throw new ApiException(401, null, "the bearer token is not valid");
    }
    return new Caller(CALLER_TOKEN, sourceIp);
  }

  /**
   * Who calls the gRPC service: a quota admin by the SPIFFE ID of its client certificate, else the
   * holder of the bearer token. A certificate on the list wins over a wrong token (the header is
   * not even read); otherwise the token decides.
   *
   * @param peer the SPIFFE ID of the caller's client certificate; null when it presented none
   *     (or the port is plaintext)
   * @param header the {@code authorization} metadata; null when absent
   * @throws ApiException 401 without a valid token and without a certificate; 403 with a
   *     certificate that is not a quota admin's and no valid token
   */
  Caller grpcCaller(SpiffeId peer, String header, String sourceIp) throws ApiException {
    if (peer != null && !admins.isEmpty() && admins.allows(peer)) {
      return new Caller(peer.toString(), sourceIp);
    }
    if (header != null) {
      return bearer(header, sourceIp);
    }
    if (peer != null) {
      throw new ApiException(403, null, "peer " + peer + " is not a quota admin (ratelimit.quota.admin_spiffe_ids)"
          + (token == null ? "" : " and presented no bearer token"));
    }
    throw new ApiException(401, null, "the quota service needs a client certificate whose SPIFFE ID is in "
        + "ratelimit.quota.admin_spiffe_ids" + (token == null ? " (no token is configured)"
            : " or a bearer token (authorization: Bearer ...)"));
  }

  private Reply route(HttpExchange exchange, Caller caller) throws ApiException, IOException {
    String method = exchange.getRequestMethod();
    String rest = exchange.getRequestURI().getRawPath().substring(PATH.length());
    String query = exchange.getRequestURI().getRawQuery();
    if (rest.isEmpty() || rest.equals("/")) {
      requireMethod(method, "GET");
      return list(query);
    }
    if (!rest.startsWith("/")) {
      throw new ApiException(404, null, "not found: " + exchange.getRequestURI().getRawPath());
    }
    String[] parts = rest.substring(1).split("/", -1);
    String tenant = URLDecoder.decode(parts[0], StandardCharsets.UTF_8);
    if (tenant.isEmpty()) {
      throw new ApiException(400, "tenant", "tenant must not be empty");
    }
    if (parts.length == 1) {
      boolean force = flag(query, "force");
      return switch (method) {
        case "GET" -> get(tenant);
        case "PUT" -> put(tenant, readBody(exchange), force, caller);
        case "DELETE" -> delete(tenant, force, caller);
        default -> throw new ApiException(405, null, "method not allowed: use GET, PUT or DELETE");
      };
    }
    if (parts.length == 2 && parts[1].equals("usage")) {
      requireMethod(method, "GET");
      return usage(tenant);
    }
    if (parts.length == 2 && parts[1].equals("reset")) {
      requireMethod(method, "POST");
      return reset(tenant, caller);
    }
    throw new ApiException(404, null, "not found: " + exchange.getRequestURI().getRawPath());
  }

  private static void requireMethod(String method, String allowed) throws ApiException {
    if (!method.equals(allowed)) {
      throw new ApiException(405, null, "method not allowed: use " + allowed);
    }
  }

  private static ApiException noQuota(String tenant) {
    return new ApiException(404, "tenant", "no quota applies to tenant '" + tenant + "'");
  }

  Reply usage(String tenant) throws ApiException {
    QuotaOutcome usage = engine.quotaUsage(tenant);
    TenantQuota applicable = store.snapshot().applicable(tenant);
    if (usage == null || applicable == null) {
      throw noQuota(tenant);
    }
    return new Reply(200, usageJson(tenant, applicable, usage).toString());
  }

  Reply get(String tenant) throws ApiException {
    TenantQuota quota = store.snapshot().get(tenant);
    if (quota == null) {
      throw new ApiException(404, "tenant", "tenant '" + tenant + "' has no quota of its own");
    }
    return new Reply(200, QuotaJson.write(quota));
  }

  Reply put(String tenant, String body, boolean force, Caller caller) throws ApiException {
    TenantQuota quota = QuotaRequests.parse(tenant, body);
    TenantQuota before;
    try {
      before = store.put(quota, force);
    } catch (QuotaStore.QuotaManagedException e) {
      throw new ApiException(409, "force", e.getMessage());
    }
    String after = QuotaJson.write(quota);
    record(new Change(before == null ? "create" : "replace", tenant, caller.identity(), caller.sourceIp(),
        before == null ? null : QuotaJson.write(before), after));
    return new Reply(before == null ? 201 : 200, after);
  }

  Reply delete(String tenant, boolean force, Caller caller) throws ApiException {
    TenantQuota before;
    try {
      before = store.delete(tenant, force);
    } catch (QuotaStore.QuotaManagedException e) {
      throw new ApiException(409, "force", e.getMessage());
    }
    if (before == null) {
      throw new ApiException(404, "tenant", "tenant '" + tenant + "' has no quota of its own");
    }
    String json = QuotaJson.write(before);
    record(new Change("delete", tenant, caller.identity(), caller.sourceIp(), json, null));
    return new Reply(200, json);
  }

  Reply reset(String tenant, Caller caller) throws ApiException {
    TenantQuota applicable = store.snapshot().applicable(tenant);
    QuotaOutcome before = engine.quotaUsage(tenant);
    if (applicable == null || before == null) {
      throw noQuota(tenant);
    }
    engine.resetQuotaUsage(tenant);
    QuotaOutcome after = engine.quotaUsage(tenant);
    ObjectNode afterJson = after == null ? null : usageJson(tenant, applicable, after);
    record(new Change("reset", tenant, caller.identity(), caller.sourceIp(),
        usageRecord(usageJson(tenant, applicable, before)), afterJson == null ? null : usageRecord(afterJson)));
    return new Reply(200, afterJson == null ? "{}" : afterJson.toString());
  }

  private void record(Change change) throws ApiException {
    if (!listener.changed(change)) {
      throw new ApiException(500, null, "the " + change.operation() + " of tenant '" + change.tenant()
          + "' was made but the audit log refused its record");
    }
  }

  private Reply list(String query) throws ApiException {
    String aboveText = parameter(query, "above");
    if (aboveText == null) {
      return listAll();
    }
    double above;
    try {
      above = Double.parseDouble(aboveText);
    } catch (NumberFormatException e) {
      above = Double.NaN;
    }
    return listAbove(above, aboveText);
  }

  Reply listAll() {
    ObjectNode root = JSON.createObjectNode();
    ArrayNode tenants = root.putArray("tenants");
    for (TenantQuota quota : store.snapshot().quotas()) {
      ObjectNode t = tenants.addObject();
      t.put("tenant", quota.tenant());
      t.put("managed_by", quota.managedBy().configName());
      t.put("unlimited", quota.unlimited());
      t.put("limits", quota.limits().size());
    }
    return new Reply(200, root.toString());
  }

  Reply listAbove(double above, String asGiven) throws ApiException {
    if (!(above >= 0) || Double.isInfinite(above)) {
      throw new ApiException(400, "above", "above must be a ratio of at least 0 (0.8 is 80%), found '"
          + asGiven + "'");
    }
    QuotaSnapshot snapshot = store.snapshot();
    ObjectNode root = JSON.createObjectNode();
    root.put("above", above);
    ArrayNode tenants = root.putArray("tenants");
    // Tenants with a quota of their own, and every tenant requests named (the tenant index), which
    // finds those counted on the default quota: the quota store does not know them by name.
    java.util.Set<String> names = new java.util.TreeSet<>(this.tenants.tenants());
    for (TenantQuota quota : snapshot.quotas()) {
      if (!quota.isDefault()) {
        names.add(quota.tenant());
      }
    }
    for (String tenant : names) {
      TenantQuota applicable = snapshot.applicable(tenant);
      if (applicable == null) {
        continue; // unlimited, or no quota applies any more
      }
      QuotaOutcome usage = engine.quotaUsage(tenant);
      if (usage == null) {
        continue;
      }
      ObjectNode doc = usageJson(tenant, applicable, usage);
      if (doc.path("max_ratio").asDouble() > above) {
        tenants.add(doc);
      }
    }
    return new Reply(200, root.toString());
  }

  /**
   * A usage document as a {@link Change} carries it: without {@code percent} and
   * {@code max_ratio}, the floating-point members, which the audit log's structured values refuse
   * (they follow from {@code used} and {@code amount}).
   */
  private static String usageRecord(ObjectNode usage) {
    ObjectNode copy = usage.deepCopy();
    copy.remove("max_ratio");
    for (JsonNode limit : copy.path("limits")) {
      ((ObjectNode) limit).remove("percent");
    }
    return copy.toString();
  }

  private ObjectNode usageJson(String tenant, TenantQuota quota, QuotaOutcome usage) {
    long now = clock.millis();
    ObjectNode doc = JSON.createObjectNode();
    doc.put("tenant", tenant);
    doc.put("quota", quota.tenant());
    double maxRatio = 0;
    ArrayNode limits = doc.putArray("limits");
    for (QuotaOutcome.LimitUsage limit : usage.limits()) {
      long amount = limit.limit().amount();
      long used = limit.used();
      double ratio = amount == 0 ? (used > 0 ? Double.POSITIVE_INFINITY : 0) : (double) used / amount;
      maxRatio = Math.max(maxRatio, ratio);
      ObjectNode l = limits.addObject();
      l.put("name", limit.limit().name());
      l.put("period", limit.limit().period().describe());
      l.put("enforcement", limit.limit().enforcement().configName());
      l.put("amount", amount);
      l.put("used", used);
      l.put("remaining", Math.max(0, amount - used));
      l.put("percent", amount == 0 ? (used > 0 ? 100.0 : 0.0) : Math.round(ratio * 1000) / 10.0);
      // To the second: every period ends on a whole second (calendar periods at midnight or on the
      // hour, windows aligned to Unix time), and the store measured resetMillis at its own "now",
      // a millisecond or so before ours.
      l.put("resets_at", Instant.ofEpochSecond(Math.round((now + limit.resetMillis()) / 1000.0)).toString());
    }
    doc.put("max_ratio", Double.isInfinite(maxRatio) ? Double.MAX_VALUE : maxRatio);
    return doc;
  }

  private static String readBody(HttpExchange exchange) throws IOException, ApiException {
    try (InputStream in = exchange.getRequestBody()) {
      byte[] bytes = in.readNBytes(MAX_BODY_BYTES + 1);
      if (bytes.length > MAX_BODY_BYTES) {
        throw new ApiException(413, null, "the body is larger than " + MAX_BODY_BYTES + " bytes");
      }
      return new String(bytes, StandardCharsets.UTF_8);
    }
  }

  private static boolean flag(String query, String name) throws ApiException {
    String value = parameter(query, name);
    if (value == null || value.equals("false")) {
      return false;
    }
    if (value.equals("true") || value.isEmpty()) {
      return true;
    }
    throw new ApiException(400, name, name + " must be true or false, found '" + value + "'");
  }

  private static String parameter(String query, String name) {
    if (query == null) {
      return null;
    }
    for (String pair : query.split("&")) {
      int eq = pair.indexOf('=');
      String key = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
      if (key.equals(name)) {
        return eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
      }
    }
    return null;
  }

  /** Reads a request body into a quota, naming the field at fault in every refusal. */
  static final class QuotaRequests {
    private static final List<String> TOP = List.of("tenant", "time_zone", "unlimited", "managed_by", "limits");
    private static final List<String> LIMIT = List.of("name", "period", "algorithm", "window_seconds", "amount",
        "enforcement");

    private QuotaRequests() {}

    /** The quota the body declares for {@code tenant}, managed by the API. */
    static TenantQuota parse(String tenant, String body) throws ApiException {
      JsonNode root;
      try {
        root = JSON.readTree(body);
      } catch (JsonProcessingException e) {
        throw new ApiException(400, null, "the body is not JSON: " + e.getOriginalMessage());
      }
      if (root == null || !root.isObject()) {
        throw new ApiException(400, null, "the body must be a JSON object (a tenant quota)");
      }
      unknownFields(root, TOP, "");
      if (root.has("tenant") && !root.get("tenant").asText().equals(tenant)) {
        throw new ApiException(400, "tenant", "tenant '" + root.get("tenant").asText()
            + "' differs from the tenant of the path '" + tenant + "'");
      }
      java.time.ZoneId zone = java.time.ZoneOffset.UTC;
      if (root.has("time_zone")) {
        JsonNode z = root.get("time_zone");
        try {
          zone = java.time.ZoneId.of(z.asText());
        } catch (java.time.DateTimeException e) {
          throw new ApiException(400, "time_zone", "time_zone: unknown time zone '" + z.asText() + "'");
        }
      }
      boolean unlimited = false;
      if (root.has("unlimited")) {
        if (!root.get("unlimited").isBoolean()) {
          throw new ApiException(400, "unlimited", "unlimited: must be true or false");
        }
        unlimited = root.get("unlimited").asBoolean();
      }
      List<QuotaLimit> limits = new ArrayList<>();
      JsonNode list = root.path("limits");
      if (!list.isMissingNode() && !list.isArray()) {
        throw new ApiException(400, "limits", "limits must be a list");
      }
      java.util.Set<String> names = new java.util.HashSet<>();
      for (int i = 0; i < list.size(); i++) {
        String at = "limits[" + i + "]";
        JsonNode l = list.get(i);
        if (!l.isObject()) {
          throw new ApiException(400, at, at + " must be an object");
        }
        unknownFields(l, LIMIT, at + ".");
        String name = text(l, at + ".name");
        if (name.isEmpty()) {
          throw new ApiException(400, at + ".name", at + ".name must not be empty");
        }
        if (!names.add(name)) {
          throw new ApiException(400, at + ".name", at + ".name: duplicate limit name '" + name + "'");
        }
        QuotaPeriod period;
        if (l.has("period")) {
          if (l.has("algorithm") || l.has("window_seconds")) {
            throw new ApiException(400, at + ".period", at + ": either period or algorithm/window_seconds, not both");
          }
          CalendarUnit unit = CalendarUnit.parse(l.get("period").asText());
          if (unit == null) {
            throw new ApiException(400, at + ".period", at + ".period must be hour, day, week, month or year, found '"
                + l.get("period").asText() + "'");
          }
          period = new QuotaPeriod.Calendar(unit);
        } else if (l.has("window_seconds")) {
          Algorithm algorithm = Algorithm.FIXED_WINDOW;
          if (l.has("algorithm")) {
            algorithm = Algorithm.parse(l.get("algorithm").asText());
            if (algorithm == null || algorithm == Algorithm.TOKEN_BUCKET) {
              throw new ApiException(400, at + ".algorithm", at + ".algorithm must be fixed_window or sliding_window, "
                  + "found '" + l.get("algorithm").asText() + "'");
            }
          }
          JsonNode w = l.get("window_seconds");
          if (!w.canConvertToLong() || !w.isIntegralNumber() || w.asLong() < 1 || w.asLong() > QuotaPeriod.Window.MAX_SECONDS) {
            throw new ApiException(400, at + ".window_seconds", at + ".window_seconds must be a whole number between 1 and "
                + QuotaPeriod.Window.MAX_SECONDS);
          }
          period = new QuotaPeriod.Window(algorithm, w.asLong());
        } else {
          throw new ApiException(400, at + ".period", at + " needs a period (hour, day, week, month, year) or "
              + "window_seconds");
        }
        JsonNode amount = l.get("amount");
        if (amount == null || !amount.isIntegralNumber() || !amount.canConvertToLong() || amount.asLong() < 0
            || amount.asLong() > RateLimit.UINT32_MAX) {
          throw new ApiException(400, at + ".amount", at + ".amount must be a whole number between 0 and "
              + RateLimit.UINT32_MAX);
        }
        QuotaLimit.Enforcement enforcement = QuotaLimit.Enforcement.HARD;
        if (l.has("enforcement")) {
          String e = l.get("enforcement").asText();
          if (e.equals("hard")) {
            enforcement = QuotaLimit.Enforcement.HARD;
          } else if (e.equals("soft")) {
            enforcement = QuotaLimit.Enforcement.SOFT;
          } else {
            throw new ApiException(400, at + ".enforcement", at + ".enforcement must be hard or soft, found '" + e + "'");
          }
        }
        limits.add(new QuotaLimit(name, period, amount.asLong(), enforcement));
      }
      if (unlimited && !limits.isEmpty()) {
        throw new ApiException(400, "limits", "limits: an unlimited quota has no limits");
      }
      if (!unlimited && limits.isEmpty()) {
        throw new ApiException(400, "limits", "limits: a quota needs at least one limit, or unlimited: true");
      }
      return new TenantQuota(tenant, zone, limits, unlimited, TenantQuota.ManagedBy.API);
    }

    private static void unknownFields(JsonNode node, List<String> known, String prefix) throws ApiException {
      var names = node.fieldNames();
      while (names.hasNext()) {
        String name = names.next();
        if (!known.contains(name)) {
          throw new ApiException(400, prefix + name, prefix + name + ": unknown field (known: "
              + String.join(", ", known) + ")");
        }
      }
    }

    private static String text(JsonNode node, String at) throws ApiException {
      String field = at.substring(at.lastIndexOf('.') + 1);
      JsonNode value = node.get(field);
      if (value == null || !value.isTextual()) {
        throw new ApiException(400, at, at + " must be a string");
      }
      return value.asText();
    }
  }
}
