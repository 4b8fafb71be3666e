package dev.meshguard.bench;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.meshguard.policy.HttpAttributes;
import dev.meshguard.policy.IpAddress;
import dev.meshguard.policy.PolicySet;
import dev.meshguard.policy.RequestAttributes;
import dev.meshguard.policy.Workload;
import dev.meshguard.policy.model.Action;
import dev.meshguard.policy.model.AuthorizationPolicy;
import dev.meshguard.policy.model.Condition;
import dev.meshguard.policy.model.Operation;
import dev.meshguard.policy.model.Position;
import dev.meshguard.policy.model.Rule;
import dev.meshguard.policy.model.Source;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC;
import io.envoyproxy.envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig;
import io.envoyproxy.envoy.type.matcher.v3.PathMatcher;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The policy-eval suite's workload: a deterministic (seeded) mix of AuthorizationPolicies and
 * requests that looks like a mesh's, for one workload ({@code ns-0}, {@code app=web}).
 *
 * <p>Each policy guards its own service's paths ({@code /api/svc-<i>/...}). ALLOW policies (70%)
 * name principals or namespaces (and sometimes JWT request principals), paths as prefixes, exact
 * paths or templates ({@code {*}}), methods and ports, and sometimes a header
 * ({@code x-tenant}) or a JWT claim ({@code groups}) condition; DENY policies (30%) guard admin
 * paths from other namespaces, or outside callers by IP. Requests are POSTs (what grpc-java can
 * judge) to a random service's paths, mostly from that service's own callers; see {@link #requests}.
 *
 * <p>Layouts: {@link Layout#IN_SCOPE}, every policy applies to the workload (the worst case);
 * {@link Layout#SPREAD}, the policies are spread over {@code n/10} namespaces (1% mesh-wide in the
 * root namespace), as in a real mesh, so about ten of them plus the mesh-wide ones apply.
 */
final class PolicyMix {
  static final Workload WORKLOAD = new Workload("ns-0", Map.of("app", "web", "version", "v1"));
  static final String AUTHORITY = "web.ns-0.svc.cluster.local";
  static final String ISSUER = "https://issuer.example";
  static final int PEER_NAMESPACES = 10;
  static final int PEER_ACCOUNTS = 5;

  enum Layout {
    IN_SCOPE("in_scope"),
    SPREAD("spread");

    final String key;

    Layout(String key) {
      this.key = key;
    }
  }

  /**
   * One request, in the terms both engines need.
   *
   * @param peer the peer's SPIFFE ID, or null for plaintext
   * @param jwt the verified JWT payload, or null (grpc-java cannot see it either way)
   */
  record Request(String path, String peer, String sourceIp, int destinationPort, Map<String, String> headers, Struct jwt) {}

  private PolicyMix() {}

  /** Every peer SPIFFE ID requests may come from. */
  static List<String> peers() {
    List<String> peers = new ArrayList<>();
    for (int ns = 0; ns < PEER_NAMESPACES; ns++) {
      for (int sa = 0; sa < PEER_ACCOUNTS; sa++) {
        peers.add("spiffe://cluster.local/ns/ns-" + ns + "/sa/sa-" + sa);
      }
    }
    return peers;
  }

  static PolicySet policies(int n, Layout layout, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    int namespaces = Math.max(1, n / 10);
    List<AuthorizationPolicy> policies = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      String namespace = layout == Layout.IN_SCOPE ? "ns-0"
          : i % 100 == 99 ? "istio-system"
          : "ns-" + (i % namespaces);
      Map<String, String> selector = random.nextInt(2) == 0 ? Map.of() : Map.of("app", "web");
      boolean deny = random.nextInt(10) < 3;
      Rule rule = deny ? denyRule(i, random) : allowRule(i, random);
      policies.add(new AuthorizationPolicy(AuthorizationPolicy.ISTIO_V1, namespace, "policy-" + i, Map.of(), false,
          selector, List.of(), deny ? Action.DENY : Action.ALLOW, null, List.of(rule), Position.UNKNOWN));
    }
    return new PolicySet(policies, List.of(), "bench-" + n + "-" + layout.key + "-" + seed, List.of(), List.of());
  }

  private static Rule allowRule(int i, SplittableRandom random) {
    String service = "/api/svc-" + i + "/";
    // Service i's own callers: namespace ns-(i%10), service account sa-(i%5) (requests pick them mostly).
    Source source = switch (random.nextInt(10)) {
      case 0, 1, 2, 3 -> source(List.of("cluster.local/ns/ns-" + (i % PEER_NAMESPACES) + "/sa/sa-" + (i % PEER_ACCOUNTS)),
          List.of(), List.of(), List.of());
      case 4, 5, 6, 7, 8 -> source(List.of(), List.of("ns-" + (i % PEER_NAMESPACES)), List.of(), List.of());
      default -> source(List.of(), List.of(), List.of(ISSUER + "/user-*"), List.of());
    };
    List<String> paths = switch (random.nextInt(10)) {
      case 0, 1 -> List.of(service + "{*}/items");
      case 2, 3 -> List.of(service + "health");
      default -> List.of(service + "*");
    };
    List<String> methods = random.nextInt(2) == 0 ? List.of("GET", "POST") : List.of();
    List<String> ports = random.nextInt(10) < 3 ? List.of("8080") : List.of();
    Operation to = new Operation(List.of(), List.of(), ports, List.of(), methods, List.of(), paths, List.of());
    List<Condition> when = new ArrayList<>();
    int condition = random.nextInt(10);
    if (condition < 3) {
      when.add(Condition.of("request.headers[x-tenant]", List.of("tenant-" + (i % 20)), List.of()));
    } else if (condition < 5) {
      when.add(Condition.of("request.auth.claims[groups]", List.of("group-" + (i % 10)), List.of()));
    }
    return new Rule(List.of(source), List.of(to), when, Position.UNKNOWN);
  }

  private static Rule denyRule(int i, SplittableRandom random) {
    String service = "/api/svc-" + i + "/";
    if (random.nextInt(2) == 0) {
      Source notOwn = source(List.of(), List.of(), List.of(), List.of("ns-" + (i % PEER_NAMESPACES)));
      Operation admin = new Operation(List.of(), List.of(), List.of(), List.of(), List.of(), List.of(),
          List.of(service + "admin*"), List.of());
      return new Rule(List.of(notOwn), List.of(admin), List.of(), Position.UNKNOWN);
    }
    Operation any = new Operation(List.of(), List.of(), List.of(), List.of(), List.of(), List.of(), List.of(service + "*"),
        List.of(service + "health"));
    return new Rule(List.of(), List.of(any), List.of(Condition.of("source.ip", List.of(), List.of("10.0.0.0/8"))),
        Position.UNKNOWN);
  }

  private static Source source(List<String> principals, List<String> namespaces, List<String> requestPrincipals,
      List<String> notNamespaces) {
    return new Source(principals, List.of(), requestPrincipals, List.of(), namespaces, notNamespaces, List.of(), List.of(),
        List.of(), List.of(), List.of(), List.of());
  }

  /**
   * {@code count} requests to random services of the workload (with {@link Layout#SPREAD}, the
   * services whose policies are in the workload's namespace), mostly from the service's own callers
   * (80%), with its tenant header (70%) and a JWT of its group (60%); 10% plaintext, 10% from
   * outside 10.0.0.0/8.
   */
  static List<Request> requests(int count, int n, Layout layout, long seed) {
    SplittableRandom random = new SplittableRandom(seed ^ 0x5DEECE66DL);
    List<String> peers = peers();
    int namespaces = Math.max(1, n / 10);
    List<Request> out = new ArrayList<>(count);
    for (int r = 0; r < count; r++) {
      int target = layout == Layout.IN_SCOPE ? random.nextInt(n) : namespaces * random.nextInt(Math.max(1, n / namespaces));
      String service = "/api/svc-" + target + "/";
      String path = switch (random.nextInt(10)) {
        case 0, 1, 2 -> service + "items/" + random.nextInt(100);
        case 3, 4 -> service + "health";
        case 5 -> service + "admin/users";
        default -> service + "x" + random.nextInt(10) + "/items";
      };
      int who = random.nextInt(10);
      String peer = who == 0 ? null
          : who < 9 ? "spiffe://cluster.local/ns/ns-" + (target % PEER_NAMESPACES) + "/sa/sa-" + (target % PEER_ACCOUNTS)
          : peers.get(random.nextInt(peers.size()));
      String sourceIp = random.nextInt(10) == 0 ? "203.0.113." + random.nextInt(250) : "10.1." + random.nextInt(250) + ".7";
      Map<String, String> headers = new HashMap<>();
      if (random.nextInt(10) < 7) {
        headers.put("x-tenant", "tenant-" + (target % 20));
      }
      Struct jwt = null;
      if (random.nextInt(10) < 6) {
        int user = target % 10 + 10 * random.nextInt(100);
        jwt = Struct.newBuilder()
            .putFields("iss", Value.newBuilder().setStringValue(ISSUER).build())
            .putFields("sub", Value.newBuilder().setStringValue("user-" + user).build())
            .putFields("groups", Value.newBuilder().setListValue(ListValue.newBuilder()
                .addValues(Value.newBuilder().setStringValue("group-" + (user % 10)))).build())
            .build();
      }
      out.add(new Request(path, peer, sourceIp, random.nextInt(10) == 0 ? 9090 : 8080, Map.copyOf(headers), jwt));
    }
    return out;
  }

  /** The request as Envoy's CheckRequest would give it to meshguard. */
  static RequestAttributes attributes(Request request) {
    Map<String, String> headers = new HashMap<>(request.headers());
    headers.put(":authority", AUTHORITY);
    headers.put(":method", "POST");
    headers.put(":path", request.path());
    headers.put("content-type", "application/grpc");
    IpAddress source = IpAddress.parse(request.sourceIp()).orElseThrow();
    return new RequestAttributes(WORKLOAD, request.peer(), source, source, IpAddress.parse("10.0.0.1").orElseThrow(),
        request.destinationPort(), null, new HttpAttributes("POST", AUTHORITY, request.path(), headers), request.jwt(),
        Map.of());
  }

  /**
   * The emitted filters as grpc-java can take them. grpc-java refuses a {@code uri_template}
   * permission, so each path template becomes the {@code url_path} regex Envoy itself compiles a
   * template to ({@code *} one segment of RFC 3986 pchars, {@code **} any pchars and slashes):
   * the same matches, at a regex's cost.
   */
  static List<RBAC> forGrpc(List<RBAC> filters) {
    List<RBAC> out = new ArrayList<>(filters.size());
    for (RBAC filter : filters) {
      if (!filter.hasRules()) {
        out.add(filter);
        continue;
      }
      var rules = filter.getRules().toBuilder().clearPolicies();
      for (Map.Entry<String, Policy> e : filter.getRules().getPoliciesMap().entrySet()) {
        Policy.Builder policy = e.getValue().toBuilder().clearPermissions();
        for (Permission p : e.getValue().getPermissionsList()) {
          policy.addPermissions(withoutTemplates(p));
        }
        rules.putPolicies(e.getKey(), policy.build());
      }
      out.add(filter.toBuilder().setRules(rules).build());
    }
    return out;
  }

  private static Permission withoutTemplates(Permission p) {
    return switch (p.getRuleCase()) {
      case AND_RULES -> Permission.newBuilder().setAndRules(Permission.Set.newBuilder()
          .addAllRules(p.getAndRules().getRulesList().stream().map(PolicyMix::withoutTemplates).toList())).build();
      case OR_RULES -> Permission.newBuilder().setOrRules(Permission.Set.newBuilder()
          .addAllRules(p.getOrRules().getRulesList().stream().map(PolicyMix::withoutTemplates).toList())).build();
      case NOT_RULE -> Permission.newBuilder().setNotRule(withoutTemplates(p.getNotRule())).build();
      case URI_TEMPLATE -> {
        String template;
        try {
          template = p.getUriTemplate().getTypedConfig().unpack(UriTemplateMatchConfig.class).getPathTemplate();
        } catch (InvalidProtocolBufferException e) {
          throw new IllegalStateException("the emitter packs a UriTemplateMatchConfig", e);
        }
        yield Permission.newBuilder().setUrlPath(PathMatcher.newBuilder().setPath(StringMatcher.newBuilder()
            .setSafeRegex(RegexMatcher.newBuilder().setRegex(templateRegex(template))))).build();
      }
      default -> p;
    };
  }

  static String templateRegex(String template) {
    StringBuilder regex = new StringBuilder();
    String[] segments = template.split("/", -1);
    for (int i = 0; i < segments.length; i++) {
      if (i > 0) {
        regex.append('/');
      }
      switch (segments[i]) {
        case "*" -> regex.append("[a-zA-Z0-9-._~%!$&'()+,;:@]+");
        case "**" -> regex.append("[a-zA-Z0-9-._~%!$&'()+,;:@/]*");
        default -> {
          for (char c : segments[i].toCharArray()) {
            if ("\\.+*?()|[]{}^$".indexOf(c) >= 0) {
              regex.append('\\');
            }
            regex.append(c);
          }
        }
      }
    }
    return regex.toString();
  }
}
