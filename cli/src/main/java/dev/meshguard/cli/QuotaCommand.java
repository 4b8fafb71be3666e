package dev.meshguard.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.meshguard.core.config.ConfigError;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.ratelimit.QuotaJson;
import dev.meshguard.ratelimit.TenantQuota;
import dev.meshguard.ratelimit.TenantQuotaFiles;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.ConnectException;
import java.net.URI;
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
 * {@code meshguard quota}: tenant quotas through the rate limit server's admin API
 * ({@code /v1/quotas} on the admin port). Exit 0 on success; 1 when the server refuses (the
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

  /** What the server answered. */
  record Answer(int status, JsonNode body) {
    boolean ok() {
      return status >= 200 && status < 300;
    }
  }

  /** The options every subcommand shares: where the API is and how to authenticate. */
  static final class ApiOptions {
    @Option(names = "--admin", paramLabel = "URL", defaultValue = DEFAULT_ADMIN,
        description = "The server's admin URL; default ${DEFAULT-VALUE}.")
    String admin;

    @Option(names = "--token-file", paramLabel = "FILE",
        description = "A file holding the bearer token (the server's ratelimit.quota.api_token_file).")
    Path tokenFile;

    Answer call(String method, String path, String body) throws LocalError, IOException {
      HttpRequest.Builder request;
      try {
        request = HttpRequest.newBuilder(URI.create(admin.replaceAll("/+$", "") + path))
            .timeout(Duration.ofSeconds(30));
      } catch (IllegalArgumentException e) {
        throw new LocalError("--admin: not a URL: " + admin);
      }
      if (tokenFile != null) {
        String token;
        try {
          token = Files.readString(tokenFile).strip();
        } catch (IOException e) {
          throw new LocalError("--token-file: cannot read " + tokenFile + ": " + e.getMessage());
        }
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
    ApiOptions api;

    abstract int run(PrintWriter out) throws LocalError, IOException;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      try {
        int code = run(out);
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
      err.println("meshguard quota: the server refused (" + answer.status() + "): "
          + answer.body().path("error").asText(answer.body().toString())
          + (field == null ? "" : " [field: " + field + "]"));
      err.flush();
      return 1;
    }

    /** Sends one change and prints {@code done} when the server accepts it; else prints the refusal. */
    int change(PrintWriter out, String method, String path, String body, String done)
        throws LocalError, IOException {
      Answer answer = api.call(method, path, body);
      if (!answer.ok()) {
        return refused(answer);
      }
      out.println(done);
      return 0;
    }

    void printJson(PrintWriter out, JsonNode node) throws IOException {
      out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(node));
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
    int run(PrintWriter out) throws LocalError, IOException {
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
      Answer answer = api.call("PUT", tenantPath(tenant) + (force ? "?force=true" : ""), body);
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
    int run(PrintWriter out) throws LocalError, IOException {
      Answer answer = api.call("GET", tenantPath(tenant), null);
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
    int run(PrintWriter out) throws LocalError, IOException {
      return change(out, "DELETE", tenantPath(tenant) + (force ? "?force=true" : ""), null,
          "deleted the quota of tenant " + tenant);
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
    int run(PrintWriter out) throws LocalError, IOException {
      checkFormat(format);
      Answer answer = api.call("GET", "/v1/quotas" + (above == null ? ""
          : "?above=" + URLEncoder.encode(above, StandardCharsets.UTF_8)), null);
      if (!answer.ok()) {
        return refused(answer);
      }
      if (format.equals("json")) {
        printJson(out, answer.body());
        return 0;
      }
      List<String[]> rows = new ArrayList<>();
      if (above == null) {
        rows.add(new String[] {"TENANT", "MANAGED BY", "LIMITS"});
        for (JsonNode t : answer.body().path("tenants")) {
          rows.add(new String[] {t.path("tenant").asText(), t.path("managed_by").asText(),
              t.path("unlimited").asBoolean() ? "unlimited" : t.path("limits").asText()});
        }
      } else {
        usageRows(rows, answer.body().path("tenants"));
      }
      Tables.print(out, rows);
      return 0;
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
    int run(PrintWriter out) throws LocalError, IOException {
      checkFormat(format);
      Answer answer = api.call("GET", tenantPath(tenant) + "/usage", null);
      if (!answer.ok()) {
        return refused(answer);
      }
      if (format.equals("json")) {
        printJson(out, answer.body());
        return 0;
      }
      List<String[]> rows = new ArrayList<>();
      usageRows(rows, JSON.createArrayNode().add(answer.body()));
      Tables.print(out, rows);
      return 0;
    }
  }

  static void checkFormat(String format) throws LocalError {
    if (!format.equals("table") && !format.equals("json")) {
      throw new LocalError("--format must be table or json, found '" + format + "'");
    }
  }

  static void usageRows(List<String[]> rows, JsonNode tenants) {
    rows.add(new String[] {"TENANT", "LIMIT", "USED", "REMAINING", "PERCENT", "RESETS AT"});
    for (JsonNode t : tenants) {
      for (JsonNode l : t.path("limits")) {
        rows.add(new String[] {t.path("tenant").asText(), l.path("name").asText(),
            l.path("used").asText() + "/" + l.path("amount").asText(), l.path("remaining").asText(),
            String.format(Locale.ROOT, "%.1f%%", l.path("percent").asDouble()), l.path("resets_at").asText()});
      }
    }
  }

  @Command(name = "reset", mixinStandardHelpOptions = true,
      description = "Set a tenant's usage of every limit back to 0 for the current periods.")
  static final class Reset extends Sub {
    @Parameters(index = "0", paramLabel = "TENANT")
    String tenant;

    @Override
    int run(PrintWriter out) throws LocalError, IOException {
      return change(out, "POST", tenantPath(tenant) + "/reset", "", "reset the usage of tenant " + tenant);
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
    int run(PrintWriter out) throws LocalError, IOException {
      List<TenantQuota> quotas = new ArrayList<>();
      for (Path path : paths) {
        quotas.addAll(readQuotas(path));
      }
      int refused = 0;
      for (TenantQuota quota : quotas) {
        Answer answer = api.call("PUT", tenantPath(quota.tenant()) + (force ? "?force=true" : ""),
            QuotaJson.write(quota.withManagedBy(TenantQuota.ManagedBy.API)));
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
