package dev.meshguard.policy;

import com.google.protobuf.Value;
import dev.meshguard.policy.IndexKey.Dim;
import dev.meshguard.policy.IndexKey.DimKind;
import java.util.List;

/**
 * One compiled matcher for one value of one field: what Envoy's RBAC engine evaluates for one
 * {@code Principal} or {@code Permission} leaf Istio generates. A missing attribute never
 * satisfies a term (the {@code not} forms, built by {@link Field}, then match).
 */
sealed interface Term {

  boolean test(Req r);

  /** What the index may look this term up by, or null when it cannot. */
  IndexKey key();

  /** A string attribute of the request. */
  sealed interface Source permits Std, Header {
    /** The value, or null when absent. */
    String get(Req r);

    /** Where the value ends for matching (the path stops before its query). */
    default int end(Req r, String value) {
      return value.length();
    }

    Dim dim();
  }

  enum Std implements Source {
    /** The peer's principal ({@code Authenticated.principal_name}); absent on plaintext. */
    PRINCIPAL(DimKind.PRINCIPAL) {
      @Override
      public String get(Req r) {
        return r.principal;
      }
    },
    /** {@code url_path}: the path without query and fragment. */
    URL_PATH(DimKind.URL_PATH) {
      @Override
      public String get(Req r) {
        return r.http == null ? null : r.http.path();
      }

      @Override
      public int end(Req r, String value) {
        return r.pathEnd;
      }
    },
    /** {@code :authority}. */
    HOST(DimKind.HOST) {
      @Override
      public String get(Req r) {
        return r.http == null ? null : r.http.host();
      }
    },
    /** {@code :method}. */
    METHOD(DimKind.METHOD) {
      @Override
      public String get(Req r) {
        return r.http == null ? null : r.http.method();
      }
    },
    /** {@code requested_server_name}: empty (not absent) without SNI, as in Envoy. */
    SNI(DimKind.SNI) {
      @Override
      public String get(Req r) {
        return r.sni();
      }
    };

    private final Dim dim;

    Std(DimKind kind) {
      this.dim = Dim.of(kind);
    }

    @Override
    public Dim dim() {
      return dim;
    }
  }

  /** A request header by lower-case name; repeated headers arrive joined with {@code ,}. */
  record Header(String name, Dim dim) implements Source {
    Header(String name) {
      this(name, Dim.header(name));
    }

    @Override
    public String get(Req r) {
      return r.header(name);
    }
  }

  /** A string matcher applied to one string attribute. */
  record Str(Source source, StrMatcher matcher) implements Term {
    @Override
    public boolean test(Req r) {
      String v = source.get(r);
      return v != null && matcher.matches(v, 0, source.end(r, v));
    }

    @Override
    public IndexKey key() {
      return IndexKey.ofString(source.dim(), matcher);
    }
  }

  /**
   * {@code namespaces: [ns]} without wildcards or regex metacharacters: Istio's regex
   * {@code .*}{@code /ns/ns/.*} over the principal, which holds exactly when the principal
   * contains {@code /ns/ns/}.
   */
  record Namespace(String namespace, String needle) implements Term {
    Namespace(String namespace) {
      this(namespace, "/ns/" + namespace + "/");
    }

    @Override
    public boolean test(Req r) {
      return r.principal != null && r.principal.indexOf('\n') < 0 && r.principal.contains(needle);
    }

    @Override
    public IndexKey key() {
      return new IndexKey(Dim.of(DimKind.NAMESPACE), IndexKey.Kind.EXACT, namespace, null, 0);
    }
  }

  /**
   * {@code requestPrincipals} / {@code request.auth.principal}: the JWT's {@code iss} and
   * {@code sub} claims, each a string, matched separately (istio {@code requestPrincipalGenerator}).
   */
  record RequestPrincipal(StrMatcher iss, StrMatcher sub) implements Term {
    @Override
    public boolean test(Req r) {
      String i = r.stringClaim("iss");
      if (i == null || !iss.matches(i)) {
        return false;
      }
      String s = r.stringClaim("sub");
      return s != null && sub.matches(s);
    }

    @Override
    public IndexKey key() {
      return null;
    }
  }

  /**
   * A JWT claim by nested path: matches a string claim, or a list claim with a string element
   * that matches (istio {@code MetadataListValueMatcher}); other JSON types never match. The
   * top-level {@code scope} and {@code permission} claims are space-separated lists
   * (Envoy {@code normalize_payload_in_metadata.space_delimited_claims}, set by Istio).
   */
  record Claim(List<String> path, boolean spaceDelimited, StrMatcher matcher, Dim dim) implements Term {
    Claim(List<String> path, StrMatcher matcher) {
      this(List.copyOf(path), isSpaceDelimited(path), matcher, Dim.claim(path));
    }

    static boolean isSpaceDelimited(List<String> path) {
      return path.size() == 1 && (path.get(0).equals("scope") || path.get(0).equals("permission"));
    }

    @Override
    public boolean test(Req r) {
      Value v = r.claim(path);
      if (v == null) {
        return false;
      }
      switch (v.getKindCase()) {
        case STRING_VALUE -> {
          String s = v.getStringValue();
          return spaceDelimited ? anyToken(s) : matcher.matches(s);
        }
        case LIST_VALUE -> {
          List<Value> values = v.getListValue().getValuesList();
          for (int i = 0; i < values.size(); i++) {
            Value e = values.get(i);
            if (e.getKindCase() == Value.KindCase.STRING_VALUE && matcher.matches(e.getStringValue())) {
              return true;
            }
          }
          return false;
        }
        default -> {
          return false;
        }
      }
    }

    private boolean anyToken(String s) {
      int i = 0;
      int n = s.length();
      while (i < n) {
        while (i < n && s.charAt(i) == ' ') {
          i++;
        }
        int start = i;
        while (i < n && s.charAt(i) != ' ') {
          i++;
        }
        if (i > start && matcher.matches(s, start, i)) {
          return true;
        }
      }
      return false;
    }

    @Override
    public IndexKey key() {
      return IndexKey.ofString(dim, matcher);
    }
  }

  /** Which address an IP term looks at. */
  enum IpSource {
    /** {@code ipBlocks}, {@code source.ip}: the direct peer ({@code direct_remote_ip}). */
    SOURCE(DimKind.SOURCE_IP),
    /** {@code remoteIpBlocks}, {@code remote.ip}: the original client ({@code remote_ip}). */
    REMOTE(DimKind.REMOTE_IP),
    /** {@code destination.ip}: the local address ({@code destination_ip}). */
    DESTINATION(DimKind.DESTINATION_IP);

    final Dim dim;

    IpSource(DimKind kind) {
      this.dim = Dim.of(kind);
    }

    IpAddress get(Req r) {
      return switch (this) {
        case SOURCE -> r.attrs.sourceIp();
        case REMOTE -> r.attrs.remoteIp();
        case DESTINATION -> r.attrs.destinationIp();
      };
    }
  }

  record Ip(IpSource source, Cidr cidr) implements Term {
    @Override
    public boolean test(Req r) {
      return cidr.contains(source.get(r));
    }

    @Override
    public IndexKey key() {
      return new IndexKey(source.dim, IndexKey.Kind.CIDR, null, cidr, 0);
    }
  }

  /** {@code ports} and {@code destination.port}: the destination port of the connection. */
  record Port(int port) implements Term {
    @Override
    public boolean test(Req r) {
      return r.attrs.destinationPort() == port;
    }

    @Override
    public IndexKey key() {
      return new IndexKey(Dim.of(DimKind.DESTINATION_PORT), IndexKey.Kind.PORT, null, null, port);
    }
  }

  /**
   * A meshguard.dev/v1 CEL condition. An evaluation error (a missing map key, a type error at
   * run time) counts as {@code errorMeans}: false in ALLOW policies and true in the others, the
   * way Istio's builder narrows ALLOW and widens DENY/AUDIT/CUSTOM on what it cannot evaluate.
   */
  record Cel(CelConditions.Condition condition, boolean errorMeans) implements Term {
    @Override
    public boolean test(Req r) {
      Boolean result = condition.evaluate(r);
      return result == null ? errorMeans : result;
    }

    @Override
    public IndexKey key() {
      return null;
    }
  }
}
