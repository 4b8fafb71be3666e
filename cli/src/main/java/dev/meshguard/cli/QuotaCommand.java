package dev.meshguard.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.meshguard.core.config.ConfigError;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.spiffe.InvalidSpiffeIdException;
import dev.meshguard.core.spiffe.SpiffeId;
import dev.meshguard.ratelimit.QuotaJson;
import dev.meshguard.ratelimit.TenantQuota;
import dev.meshguard.ratelimit.TenantQuotaFiles;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.ConnectException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code meshguard quota}: tenant quotas through the rate limit server's admin API: the JSON API
 * ({@code /v1/quotas} on the admin port) by default, or with {@code --grpc} the gRPC
 * {@code meshguard.quota.v1.QuotaService} on its gRPC port, plaintext or TLS ({@code --tls-ca}),
 * with a client certificate ({@code --tls-cert}/{@code --tls-key}) and/or the bearer token
 * ({@code --token-file}). Exit 0 on success; 1 when the server refuses (the
 * message and the field at fault are printed) or cannot be reached; 2 for local mistakes (a
 * quota file that does not parse, an unreadable token file).
 */
@Command(name = "quota", mixinStandardHelpOptions = true,
    description = {"Set, read, list and reset tenant quotas on a running rate limit server",
        "(meshguard ratelimit or meshguard up) through its admin API."},
    subcommands = {QuotaCommand.Set.class, QuotaCommand.Get.class, QuotaCommand.Delete.class,
        QuotaCommand.ListTenants.class, QuotaCommand.Usage.class, QuotaCommand.Reset.class,
        QuotaCommand.Import.class})
final class QuotaCommand implements Runnable {
  @Spec
  private CommandSpec spec;

  @Override
  public void run() {
    throw new ParameterException(spec.commandLine(), "Missing subcommand: set, get, delete, list, usage, reset or import");
  }

  static final ObjectMapper JSON = new ObjectMapper();
  static final String DEFAULT_ADMIN = "http://127.0.0.1:9090";

  /** Thrown for a local mistake: exit 2. */
  static final class LocalError extends Exception {
    private static final long serialVersionUID = 1L;

    LocalError(String message) {
      super(message);
    }
  }

  /**
   * What the server answered: the JSON API's HTTP status (over gRPC, the status the JSON API would
   * have answered), the JSON document, and the code to print in a refusal (the HTTP status, or the
   * gRPC status code's name).
   */
  record Answer(int status, JsonNode body, String code) {
    Answer(int status, JsonNode body) {
      this(status, body, Integer.toString(status));
    }

    boolean ok() {
      return status >= 200 && status < 300;
    }
  }

  /** The options every subcommand shares: where the API is and how to authenticate. */
  static final class ApiOptions {
    @Option(names = "--admin", paramLabel = "URL", defaultValue = DEFAULT_ADMIN,
        description = {"The server's admin URL (the JSON API, plain http: the admin port never serves TLS);",
            "default ${DEFAULT-VALUE}."})
    String admin;

    @Option(names = "--grpc", paramLabel = "HOST:PORT",
        description = {"Talk to meshguard.quota.v1.QuotaService on the rate limit server's gRPC port",
            "(e.g. 127.0.0.1:8081) instead of the admin URL."})
    String grpc;

    @Option(names = "--token-file", paramLabel = "FILE",
        description = "A file holding the bearer token (the server's ratelimit.quota.api_token_file).")
    Path tokenFile;

    @Option(names = "--tls-ca", paramLabel = "FILE",
        description = {"With --grpc: TLS, the server's certificate (an X.509-SVID) checked against these CAs",
            "(the server's ratelimit.tls)."})
    Path tlsCa;

    @Option(names = "--tls-cert", paramLabel = "FILE",
        description = {"With --grpc and --tls-ca: the client certificate (chain) to present; its SPIFFE ID must be",
            "in ratelimit.quota.admin_spiffe_ids unless a token is given too."})
    Path tlsCert;

    @Option(names = "--tls-key", paramLabel = "FILE", description = "The key of --tls-cert.")
    Path tlsKey;

    @Option(names = QuotaClients.SERVER_ID_OPTION, paramLabel = "SPIFFE_ID",
        description = {"With --grpc and --tls-ca: the SPIFFE ID the server's certificate must carry (e.g.",
            "spiffe://cluster.local/ns/meshguard/sa/ratelimit); without it, any SVID of --tls-ca is accepted."})
    String serverSpiffeId;

    @Option(names = "--fips", description = "TLS through the Bouncy Castle FIPS module (approved-only mode).")
    boolean fips;

    /** A client of the transport these options name. */
    QuotaClients.Client open() throws LocalError {
      String token = null;
      if (tokenFile != null) {
        try {
          token = Files.readString(tokenFile).strip();
        } catch (IOException e) {
          throw new LocalError("--token-file: cannot read " + tokenFile + ": " + e.getMessage());
        }
      }
      if (grpc == null) {
        if (tlsCa != null || tlsCert != null || tlsKey != null || serverSpiffeId != null) {
          throw new LocalError("--tls-ca, --tls-cert, --tls-key and " + QuotaClients.SERVER_ID_OPTION
              + " go with --grpc (the admin URL is plain HTTP on loopback)");
        }
        return new HttpClientApi(adminUri(admin), token);
      }
      if ((tlsCert == null) != (tlsKey == null)) {
        throw new LocalError("--tls-cert and --tls-key go together");
      }
      if (tlsCert != null && tlsCa == null) {
        throw new LocalError("--tls-cert needs --tls-ca (the CAs the server's certificate must chain to)");
      }
      SpiffeId serverId = null;
      if (serverSpiffeId != null) {
        if (tlsCa == null) {
          throw new LocalError(QuotaClients.SERVER_ID_OPTION + " needs --tls-ca (a plaintext server has no identity)");
        }
        serverId = serverSpiffeId(serverSpiffeId);
      }
      return QuotaClients.grpc(grpc, tlsCa, tlsCert, tlsKey, token, serverId, () -> {
        try {
          return CliCrypto.install(fips);
        } catch (dev.meshguard.core.config.ConfigException e) {
          throw new IllegalStateException(e.errors().getFirst().message(), e);
        }
      });
    }
  }

  /** A workload's SPIFFE ID: the exact URI SAN the server must present (no wildcard, not a trust domain). */
  static SpiffeId serverSpiffeId(String text) throws LocalError {
    SpiffeId id;
    try {
      id = SpiffeId.parse(text);
    } catch (InvalidSpiffeIdException e) {
      throw new LocalError(QuotaClients.SERVER_ID_OPTION + ": '" + text + "' is not a SPIFFE ID: " + e.rule());
    }
    if (id.isTrustDomainId()) {
      throw new LocalError(QuotaClients.SERVER_ID_OPTION + ": '" + text + "' names a trust domain, which no server"
          + " certificate carries; give the server's workload ID, e.g. " + id + "/ns/meshguard/sa/ratelimit");
    }
    return id;
  }

  /**
   * The admin URL, which must be {@code http}: the admin server ({@code core.admin.AdminServer}, the
   * JDK's plain {@code HttpServer}) never serves TLS; it binds loopback and the JSON API is for local
   * tooling. An {@code https} URL is refused rather than handed to the JDK's default TLS, which would
   * bypass the crypto mode's provider (BCJSSE in FIPS mode) and the CA the user meant; the remote,
   * TLS way in is the gRPC service ({@code --grpc} with {@code --tls-ca}).
   */
  static URI adminUri(String admin) throws LocalError {
    URI uri;
    try {
      uri = new URI(admin);
    } catch (URISyntaxException e) {
      throw new LocalError("--admin: not a URL: " + admin);
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (scheme.equals("https")) {
      throw new LocalError("--admin " + admin + ": the admin port serves plain HTTP only (on loopback, for local"
          + " tools), never TLS; give http://HOST:PORT, or reach the quota API over TLS with --grpc HOST:PORT"
          + " --tls-ca FILE");
    }
    if (!scheme.equals("http") || uri.getHost() == null) {
      throw new LocalError("--admin: expected http://HOST:PORT (e.g. " + DEFAULT_ADMIN + "), found '" + admin + "'");
    }
    return uri;
  }

  /** The JSON API on the admin port. */
  static final class HttpClientApi implements QuotaClients.Client {
    private final String admin;
    private final String token; // null: none

    /** @param admin an {@code http} URL ({@link #adminUri}) */
    HttpClientApi(URI admin, String token) {
      this.admin = admin.toString();
      this.token = token;
    }

    @Override
    public Answer put(String tenant, String body, boolean force) throws LocalError, IOException {
      return call("PUT", tenantPath(tenant) + (force ? "?force=true" : ""), body);
    }

    @Override
    public Answer get(String tenant) throws LocalError, IOException {
      return call("GET", tenantPath(tenant), null);
    }

    @Override
    public Answer delete(String tenant, boolean force) throws LocalError, IOException {
      return call("DELETE", tenantPath(tenant) + (force ? "?force=true" : ""), null);
    }

    @Override
    public Answer usage(String tenant) throws LocalError, IOException {
      return call("GET", tenantPath(tenant) + "/usage", null);
    }

    @Override
    public Answer reset(String tenant) throws LocalError, IOException {
      return call("POST", tenantPath(tenant) + "/reset", "");
    }

    @Override
    public Answer list(String above) throws LocalError, IOException {
      return call("GET", "/v1/quotas" + (above == null ? "" : "?above=" + URLEncoder.encode(above,
          StandardCharsets.UTF_8)), null);
    }

    Answer call(String method, String path, String body) throws LocalError, IOException {
      HttpRequest.Builder request;
      try {
        request = HttpRequest.newBuilder(URI.create(admin.replaceAll("/+$", "") + path))
            .timeout(Duration.ofSeconds(30));
      } catch (IllegalArgumentException e) {
        throw new LocalError("--admin: not a URL: " + admin);
      }
      if (token != null) {
        request.header("Authorization", "Bearer " + token);
      }
      request.method(method, body == null ? HttpRequest.BodyPublishers.noBody()
          : HttpRequest.BodyPublishers.ofString(body));
      if (body != null) {
        request.header("Content-Type", "application/json");
      }
      HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
      try {
        HttpResponse<String> response = client.send(request.build(), HttpResponse.BodyHandlers.ofString());
        JsonNode json;
        try {
          json = JSON.readTree(response.body());
        } catch (IOException e) {
          json = JSON.createObjectNode().put("error", response.body().strip());
        }
        return new Answer(response.statusCode(), json);
      } catch (ConnectException e) {
        throw new IOException("cannot reach the admin API at " + admin + " (is meshguard ratelimit or up running?)", e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted", e);
      }
    }
  }

  static String tenantPath(String tenant) {
    return "/v1/quotas/" + URLEncoder.encode(tenant, StandardCharsets.UTF_8).replace("+", "%20");
  }

  /** The shared run loop: local mistakes exit 2, refusals and unreachable servers 1. */
  abstract static class Sub implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ApiOptions options;

    abstract int run(PrintWriter out, QuotaClients.Client api) throws LocalError, IOException;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      try (QuotaClients.Client api = options.open()) {
        int code = run(out, api);
        out.flush();
        return code;
      } catch (LocalError e) {
        err.println("meshguard quota: " + e.getMessage());
        err.flush();
        return CliErrors.CONFIG;
      } catch (IOException e) {
        err.println("meshguard quota: " + e.getMessage());
        err.flush();
        return 1;
      }
    }

    /** Prints the server's refusal; returns 1. */
    int refused(Answer answer) {
      PrintWriter err = spec.commandLine().getErr();
      String field = answer.body().path("field").asText(null);
      err.println("meshguard quota: the server refused (" + answer.code() + "): "
          + answer.body().path("error").asText(answer.body().toString())
          + (field == null ? "" : " [field: " + field + "]"));
      err.flush();
      return 1;
    }

    /** Prints {@code done} when the server accepted a change; else prints the refusal. */
    int change(PrintWriter out, Answer answer, String done) {
      if (!answer.ok()) {
        return refused(answer);
      }
      out.println(done);
      return 0;
    }

    void printJson(PrintWriter out, JsonNode node) throws IOException {
      out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(node));
    }

    /**
     * Prints an accepted answer's body as JSON ({@code --format json}) or as the table
     * {@code table} makes of it; else prints the refusal.
     */
    int show(PrintWriter out, Answer answer, String format, Function<JsonNode, List<String[]>> table)
        throws IOException {
      if (!answer.ok()) {
        return refused(answer);
      }
      if (format.equals("json")) {
        printJson(out, answer.body());
      } else {
        Tables.print(out, table.apply(answer.body()));
      }
      return 0;
    }
  }

  @Command(name = "set", mixinStandardHelpOptions = true,
      description = {"Create or replace a tenant's quota, from a TenantQuota YAML file (-f) or from flags.",
          "Example: meshguard quota set acme --limit monthly:month:1000000 --limit per-second:1s:200"})
  static final class Set extends Sub {
    @Parameters(index = "0", paramLabel = "TENANT", description = "The tenant ('*' is the default quota).")
    String tenant;

    @Option(names = {"-f", "--file"}, paramLabel = "FILE", description = "A TenantQuota YAML file (one tenant).")
    Path file;

    @Option(names = "--limit", paramLabel = "NAME:PERIOD:AMOUNT[:soft]",
        description = {"A limit; PERIOD is hour, day, week, month, year (calendar) or a fixed window of",
            "N seconds (60s); repeat for several limits."})
    List<String> limits = new ArrayList<>();

    @Option(names = "--time-zone", paramLabel = "ZONE", description = "Time zone of calendar periods; default UTC.")
    String timeZone;

    @Option(names = "--unlimited", description = "Exempt the tenant from every quota.")
    boolean unlimited;

    @Option(names = "--force", description = "Change a tenant whose quota is managed by YAML.")
    boolean force;

    private static final Pattern LIMIT = Pattern.compile("([^:]+):([a-z]+|[0-9]+s):([0-9]+)(?::(hard|soft))?");

    @Override
    int run(PrintWriter out, QuotaClients.Client api) throws LocalError, IOException {
      String body;
      if (file != null) {
        if (!limits.isEmpty() || unlimited || timeZone != null) {
          throw new LocalError("-f and --limit/--unlimited/--time-zone do not go together");
        }
        List<TenantQuota> quotas = readQuotas(file);
        if (quotas.size() != 1 || !quotas.get(0).tenant().equals(tenant)) {
          throw new LocalError(file + ": must declare exactly the quota of tenant '" + tenant + "', found "
              + quotas.stream().map(TenantQuota::tenant).toList());
        }
        body = QuotaJson.write(quotas.get(0).withManagedBy(TenantQuota.ManagedBy.API));
      } else {
        if (limits.isEmpty() && !unlimited) {
          throw new LocalError("give -f FILE, --limit NAME:PERIOD:AMOUNT (repeatable) or --unlimited");
        }
        ObjectNode root = JSON.createObjectNode();
        root.put("tenant", tenant);
        if (timeZone != null) {
          root.put("time_zone", timeZone);
        }
        if (unlimited) {
          root.put("unlimited", true);
        }
        ArrayNode list = root.putArray("limits");
        for (String text : limits) {
          Matcher m = LIMIT.matcher(text);
          if (!m.matches()) {
            throw new LocalError("--limit " + text + ": expected NAME:PERIOD:AMOUNT[:soft], e.g. monthly:month:1000000 "
                + "or per-minute:60s:100");
          }
          ObjectNode l = list.addObject();
          l.put("name", m.group(1));
          if (m.group(2).endsWith("s") && Character.isDigit(m.group(2).charAt(0))) {
            l.put("window_seconds", Long.parseLong(m.group(2).substring(0, m.group(2).length() - 1)));
          } else {
            l.put("period", m.group(2));
          }
          try {
            l.put("amount", Long.parseLong(m.group(3)));
          } catch (NumberFormatException e) {
            throw new LocalError("--limit " + text + ": amount too large");
          }
          l.put("enforcement", m.group(4) == null ? "hard" : m.group(4));
        }
        body = root.toString();
      }
      Answer answer = api.put(tenant, body, force);
      if (!answer.ok()) {
        return refused(answer);
      }
      out.println((answer.status() == 201 ? "created" : "replaced") + " the quota of tenant " + tenant);
      return 0;
    }
  }

  @Command(name = "get", mixinStandardHelpOptions = true, description = "Print a tenant's own quota (JSON).")
  static final class Get extends Sub {
    @Parameters(index = "0", paramLabel = "TENANT")
    String tenant;

    @Override
    int run(PrintWriter out, QuotaClients.Client api) throws LocalError, IOException {
      Answer answer = api.get(tenant);
      if (!answer.ok()) {
        return refused(answer);
      }
      printJson(out, answer.body());
      return 0;
    }
  }

  @Command(name = "delete", mixinStandardHelpOptions = true, description = "Delete a tenant's own quota.")
  static final class Delete extends Sub {
    @Parameters(index = "0", paramLabel = "TENANT")
    String tenant;

    @Option(names = "--force", description = "Delete a quota managed by YAML (the next import restores it).")
    boolean force;

    @Override
    int run(PrintWriter out, QuotaClients.Client api) throws LocalError, IOException {
      return change(out, api.delete(tenant, force), "deleted the quota of tenant " + tenant);
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true,
      description = {"List tenants with a quota; with --above RATIO, those whose usage of a limit is above",
          "RATIO (0.8 = 80%), with their usage."})
  static final class ListTenants extends Sub {
    @Option(names = "--above", paramLabel = "RATIO", description = "Only tenants using more than RATIO of a limit.")
    String above;

    @Option(names = "--format", paramLabel = "FORMAT", defaultValue = "table", description = "table or json.")
    String format;

    @Override
    int run(PrintWriter out, QuotaClients.Client api) throws LocalError, IOException {
      checkFormat(format);
      return show(out, api.list(above), format, body -> {
        if (above != null) {
          return usageRows(body.path("tenants"));
        }
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"TENANT", "MANAGED BY", "LIMITS"});
        for (JsonNode t : body.path("tenants")) {
          rows.add(new String[] {t.path("tenant").asText(), t.path("managed_by").asText(),
              t.path("unlimited").asBoolean() ? "unlimited" : t.path("limits").asText()});
        }
        return rows;
      });
    }
  }

  @Command(name = "usage", mixinStandardHelpOptions = true,
      description = "A tenant's usage of every limit of the quota that applies to it.")
  static final class Usage extends Sub {
    @Parameters(index = "0", paramLabel = "TENANT")
    String tenant;

    @Option(names = "--format", paramLabel = "FORMAT", defaultValue = "table", description = "table or json.")
    String format;

    @Override
    int run(PrintWriter out, QuotaClients.Client api) throws LocalError, IOException {
      checkFormat(format);
      return show(out, api.usage(tenant), format, body -> usageRows(JSON.createArrayNode().add(body)));
    }
  }

  static void checkFormat(String format) throws LocalError {
    if (!format.equals("table") && !format.equals("json")) {
      throw new LocalError("--format must be table or json, found '" + format + "'");
    }
  }

  static List<String[]> usageRows(JsonNode tenants) {
    List<String[]> rows = new ArrayList<>();
    rows.add(new String[] {"TENANT", "LIMIT", "USED", "REMAINING", "PERCENT", "RESETS AT"});
    for (JsonNode t : tenants) {
      for (JsonNode l : t.path("limits")) {
        rows.add(new String[] {t.path("tenant").asText(), l.path("name").asText(),
            l.path("used").asText() + "/" + l.path("amount").asText(), l.path("remaining").asText(),
            String.format(Locale.ROOT, "%.1f%%", l.path("percent").asDouble()), l.path("resets_at").asText()});
      }
    }
    return rows;
  }

  @Command(name = "reset", mixinStandardHelpOptions = true,
      description = "Set a tenant's usage of every limit back to 0 for the current periods.")
  static final class Reset extends Sub {
    @Parameters(index = "0", paramLabel = "TENANT")
    String tenant;

    @Override
    int run(PrintWriter out, QuotaClients.Client api) throws LocalError, IOException {
      return change(out, api.reset(tenant), "reset the usage of tenant " + tenant);
    }
  }

  @Command(name = "import", mixinStandardHelpOptions = true,
      description = {"Create or replace the quotas of TenantQuota YAML files (a directory, searched",
          "recursively, or files) through the API; they are then managed by the API."})
  static final class Import extends Sub {
    @Parameters(paramLabel = "DIR|FILE", arity = "1..*")
    List<Path> paths;

    @Option(names = "--force", description = "Replace tenants whose quota is managed by YAML on the server.")
    boolean force;

    @Override
    int run(PrintWriter out, QuotaClients.Client api) throws LocalError, IOException {
      List<TenantQuota> quotas = new ArrayList<>();
      for (Path path : paths) {
        quotas.addAll(readQuotas(path));
      }
      int refused = 0;
      for (TenantQuota quota : quotas) {
        Answer answer = api.put(quota.tenant(), QuotaJson.write(quota.withManagedBy(TenantQuota.ManagedBy.API)),
            force);
        if (answer.ok()) {
          out.println((answer.status() == 201 ? "created " : "replaced ") + quota.tenant());
        } else {
          refused++;
          refused(answer);
        }
      }
      out.println("imported " + (quotas.size() - refused) + " of " + quotas.size() + " tenant quotas");
      return refused == 0 ? 0 : 1;
    }
  }

  /** The quotas of a directory (recursively) or one file, every error reported. */
  static List<TenantQuota> readQuotas(Path path) throws LocalError {
    try {
      if (Files.isDirectory(path)) {
        return TenantQuotaFiles.load(path);
      }
      if (!Files.isRegularFile(path)) {
        throw new LocalError(path + ": no such file or directory");
      }
      return TenantQuotaFiles.parse(path.toString(), Files.readString(path));
    } catch (ConfigException e) {
      StringBuilder message = new StringBuilder(e.errors().size() + (e.errors().size() == 1 ? " error:" : " errors:"));
      for (ConfigError error : e.errors()) {
        message.append("\n  ").append(error.render());
      }
      throw new LocalError(message.toString());
    } catch (IOException e) {
      throw new LocalError(path + ": cannot read: " + e.getMessage());
    }
  }
}
