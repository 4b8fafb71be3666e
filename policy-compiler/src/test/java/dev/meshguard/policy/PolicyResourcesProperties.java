package dev.meshguard.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.meshguard.policy.model.Action;
import dev.meshguard.policy.model.AuthorizationPolicy;
import dev.meshguard.policy.model.Condition;
import dev.meshguard.policy.model.JwtRule;
import dev.meshguard.policy.model.Operation;
import dev.meshguard.policy.model.Position;
import dev.meshguard.policy.model.RequestAuthentication;
import dev.meshguard.policy.model.Rule;
import dev.meshguard.policy.model.Source;
import dev.meshguard.policy.model.TargetRef;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

/**
 * Bundles carry policies as the resources {@link PolicyResources} writes, and servers read them
 * back with {@link PolicyLoader}: for every valid policy, writing then reading gives the same
 * policy (the same canonical form, hence the same revision). Policies are generated from pools
 * of values Istio's validation accepts, over every field of the model.
 */
class PolicyResourcesProperties {

  private static final List<String> NAMESPACES = List.of("default", "shop", "istio-system", "ops");
  private static final List<String> PRINCIPALS = List.of("cluster.local/ns/shop/sa/frontend", "*",
      "cluster.local/ns/ops/*", "*/sa/admin", "spiffe://td/ns/a/sa/b");
  private static final List<String> REQUEST_PRINCIPALS = List.of("https://auth.example.com/alice", "*",
      "https://auth.example.com/*", "*@example.com");
  private static final List<String> IPS = List.of("10.0.0.0/8", "192.168.1.1", "::1", "2001:db8::/32", "0.0.0.0/0");
  private static final List<String> SERVICE_ACCOUNTS = List.of("shop/frontend", "admin", "ops/prometheus");
  private static final List<String> HOSTS = List.of("example.com", "*.example.com", "api.shop:8080", "*");
  private static final List<String> PORTS = List.of("80", "8080", "0", "65535");
  private static final List<String> METHODS = List.of("GET", "POST", "DELETE", "*");
  private static final List<String> PATHS = List.of("/", "/api/*", "*/private", "/items/{*}", "/a/{**}",
      "/exact?q=1", "/unicode/é");
  private static final List<String> STRINGS = List.of("alice", "a b", "\"quoted\"", "yes", "8080", "null", "*", "x*",
      "*y", "ünï", "line\nbreak");
  private static final List<String> KEYS = List.of("request.headers[x-user]", "source.ip", "remote.ip",
      "source.namespace", "source.principal", "request.auth.principal", "request.auth.audiences",
      "request.auth.presenter", "request.auth.claims[groups]", "request.auth.claims[tenant][tier]",
      "destination.ip", "destination.port", "connection.sni", "source.serviceAccount",
      "experimental.envoy.filters.network.mysql_proxy[db.table]");
  private static final List<String> CUSTOM_KEYS = List.of("request.headers[x-user]", "source.ip", "remote.ip",
      "destination.ip", "destination.port", "connection.sni");

  @Property(tries = 300)
  void writingThenReadingGivesTheSamePolicy(@ForAll long seed) throws Exception {
    Random random = new Random(seed);
    AuthorizationPolicy policy = new Generator(random).policy();
    String json = new String(PolicyBundleManifests.json(PolicyResources.resource(policy)), StandardCharsets.UTF_8);
    PolicySet back = PolicyLoader.parse("p.json", json);
    assertThat(back.authorizationPolicies()).as(json).hasSize(1);
    assertThat(PolicyDigest.canonical(back.authorizationPolicies(), List.of())).as(json)
        .isEqualTo(PolicyDigest.canonical(List.of(policy), List.of()));
    // And it is the normal form: writing what was read gives the same bytes.
    assertThat(new String(PolicyBundleManifests.json(PolicyResources.resource(back.authorizationPolicies().get(0))),
        StandardCharsets.UTF_8)).isEqualTo(json);
  }

  @Property(tries = 100)
  void requestAuthenticationsToo(@ForAll long seed) throws Exception {
    RequestAuthentication ra = new Generator(new Random(seed)).requestAuthentication();
    String json = new String(PolicyBundleManifests.json(PolicyResources.resource(ra)), StandardCharsets.UTF_8);
    PolicySet back = PolicyLoader.parse("r.json", json);
    assertThat(back.requestAuthentications()).as(json).hasSize(1);
    assertThat(PolicyDigest.canonical(List.of(), back.requestAuthentications())).as(json)
        .isEqualTo(PolicyDigest.canonical(List.of(), List.of(ra)));
  }

  /** Valid policies: every choice is one Istio's webhook and the CRD schema accept. */
  private record Generator(Random random) {

    AuthorizationPolicy policy() {
      String apiVersion = pick(List.of(AuthorizationPolicy.ISTIO_V1, AuthorizationPolicy.ISTIO_V1BETA1,
          AuthorizationPolicy.MESHGUARD_V1));
      Action action = pick(List.of(Action.values()));
      Map<String, String> annotations = new LinkedHashMap<>();
      boolean dryRun = false;
      if ((action == Action.ALLOW || action == Action.DENY) && random.nextInt(3) == 0) {
        dryRun = random.nextBoolean();
        annotations.put("istio.io/dry-run", dryRun ? pick(List.of("true", "1", "T")) : pick(List.of("false", "0")));
      }
      if (random.nextInt(3) == 0) {
        annotations.put("owner", pick(STRINGS));
      }
      Map<String, String> selector = Map.of();
      List<TargetRef> targetRefs = List.of();
      switch (random.nextInt(3)) {
        case 0 -> selector = labels();
        case 1 -> targetRefs = List.of(new TargetRef("gateway.networking.k8s.io", "Gateway", "gw-" + random.nextInt(9),
            ""));
        default -> { }
      }
      int ruleCount = action == Action.DENY || action == Action.CUSTOM ? 1 + random.nextInt(3) : random.nextInt(4);
      List<Rule> rules = list(ruleCount, () -> rule(action, apiVersion.equals(AuthorizationPolicy.MESHGUARD_V1)));
      return new AuthorizationPolicy(apiVersion, pick(NAMESPACES), "p-" + random.nextInt(1000), annotations, dryRun,
          selector, targetRefs, action, action == Action.CUSTOM ? pick(List.of("opa", "ext-authz")) : null, rules,
          Position.UNKNOWN);
    }

    Rule rule(Action action, boolean cel) {
      boolean custom = action == Action.CUSTOM;
      List<Source> from = list(random.nextInt(3), () -> custom ? customSource() : source());
      List<Operation> to = list(random.nextInt(3), this::operation);
      List<Condition> when = list(random.nextInt(3), () -> cel && random.nextInt(3) == 0
          ? Condition.cel("request.method == \"GET\"", Position.UNKNOWN)
          : condition(custom ? CUSTOM_KEYS : KEYS));
      return new Rule(from, to, when, Position.UNKNOWN);
    }

    Source source() {
      List<List<String>> f = new ArrayList<>();
      for (int i = 0; i < 12; i++) {
        f.add(List.of());
      }
      boolean serviceAccounts = random.nextInt(4) == 0;
      int fields = 1 + random.nextInt(3);
      for (int i = 0; i < fields; i++) {
        int which = serviceAccounts ? pick(List.of(2, 3, 6, 7, 8, 9, 10, 11)) : random.nextInt(10);
        f.set(which, values(switch (which) {
          case 0, 1 -> PRINCIPALS;
          case 2, 3 -> REQUEST_PRINCIPALS;
          case 4, 5 -> NAMESPACES;
          case 10, 11 -> SERVICE_ACCOUNTS;
          default -> IPS;
        }));
      }
      return new Source(f.get(0), f.get(1), f.get(2), f.get(3), f.get(4), f.get(5), f.get(6), f.get(7), f.get(8),
          f.get(9), f.get(10), f.get(11));
    }

    Source customSource() {
      List<List<String>> f = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        f.add(List.of());
      }
      f.set(random.nextInt(4), values(IPS));
      return new Source(List.of(), List.of(), List.of(), List.of(), List.of(), List.of(), f.get(0), f.get(1), f.get(2),
          f.get(3), List.of(), List.of());
    }

    Operation operation() {
      List<List<String>> f = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        f.add(List.of());
      }
      int fields = 1 + random.nextInt(3);
      for (int i = 0; i < fields; i++) {
        int which = random.nextInt(8);
        f.set(which, values(switch (which) {
          case 0, 1 -> HOSTS;
          case 2, 3 -> PORTS;
          case 4, 5 -> METHODS;
          default -> PATHS;
        }));
      }
      return new Operation(f.get(0), f.get(1), f.get(2), f.get(3), f.get(4), f.get(5), f.get(6), f.get(7));
    }

    Condition condition(List<String> keys) {
      String key = pick(keys);
      List<String> pool = switch (key) {
        case "source.ip", "remote.ip", "destination.ip" -> IPS;
        case "destination.port" -> PORTS;
        case "source.serviceAccount" -> SERVICE_ACCOUNTS;
        default -> STRINGS;
      };
      return switch (random.nextInt(3)) {
        case 0 -> Condition.of(key, values(pool), List.of());
        case 1 -> Condition.of(key, List.of(), values(pool));
        default -> Condition.of(key, values(pool), values(pool));
      };
    }

    RequestAuthentication requestAuthentication() {
      List<JwtRule> rules = list(random.nextInt(3), () -> new JwtRule(
          "https://issuer-" + random.nextInt(5) + ".example.com",
          random.nextBoolean() ? List.of() : List.of("shop", "api"),
          random.nextBoolean() ? "https://issuer.example.com/jwks.json" : null,
          null,
          random.nextBoolean() ? List.of() : List.of(new JwtRule.JwtHeader("x-jwt", random.nextBoolean() ? "Bearer " : "")),
          random.nextBoolean() ? List.of() : List.of("token"),
          random.nextBoolean() ? List.of() : List.of("session"),
          random.nextBoolean() ? null : "x-payload",
          random.nextBoolean() ? List.of() : List.of(new JwtRule.ClaimToHeader("x-sub", "sub")),
          random.nextBoolean(),
          random.nextBoolean() ? null : "5s",
          random.nextBoolean() ? List.of() : List.of("roles")));
      return new RequestAuthentication(AuthorizationPolicy.ISTIO_V1, pick(NAMESPACES), "ra-" + random.nextInt(100),
          random.nextBoolean() ? labels() : Map.of(), List.of(), rules, Position.UNKNOWN);
    }

    private Map<String, String> labels() {
      Map<String, String> labels = new LinkedHashMap<>();
      for (int i = 0; i <= random.nextInt(3); i++) {
        labels.put(pick(List.of("app", "version", "tier", "example.com/team")), pick(List.of("web", "v1", "api")));
      }
      return labels;
    }

    private List<String> values(List<String> pool) {
      List<String> out = new ArrayList<>();
      for (int i = 0; i <= random.nextInt(3); i++) {
        out.add(pick(pool));
      }
      return out;
    }

    private <T> List<T> list(int n, Supplier<T> item) {
      List<T> out = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        out.add(item.get());
      }
      return out;
    }

    private <T> T pick(List<T> pool) {
      return pool.get(random.nextInt(pool.size()));
    }
  }
}
