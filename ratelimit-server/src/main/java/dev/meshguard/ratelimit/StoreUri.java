package dev.meshguard.ratelimit;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * Where counters live, as written in {@code ratelimit.store} or {@code --store}:
 *
 * <pre>
 *   memory                                                   this process ({@link MemoryStore})
 *   redis://[[user]:password@]host[:port][/db]               one Redis (rediss:// for TLS)
 *   redis-cluster://[[user]:password@]host:port,host:port    Redis Cluster, seed nodes (rediss-cluster:// for TLS)
 *   redis-sentinel://[[user]:password@]host:port,.../master  the master named by Sentinels (rediss-sentinel://)
 * </pre>
 *
 * The port defaults to 6379 (26379 for a sentinel). Credentials are for the data nodes; the
 * sentinels are asked without. {@link #toString()} never shows a password.
 */
public sealed interface StoreUri {

  /** The in-process store. */
  record Memory() implements StoreUri {
    @Override
    public String toString() {
      return "memory";
    }
  }

  /** A host and a port. */
  record HostPort(String host, int port) {
    public HostPort {
      Objects.requireNonNull(host, "host");
      if (host.isEmpty()) {
        throw new IllegalArgumentException("empty host");
      }
      if (port < 1 || port > 65535) {
        throw new IllegalArgumentException("port must be between 1 and 65535, found " + port);
      }
    }

    @Override
    public String toString() {
      return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }
  }

  /**
   * What every Redis form shares.
   *
   * @param tls connect with TLS
   * @param username the ACL user, or null
   * @param password the password, or null
   */
  record Auth(boolean tls, String username, String password) {
    static final Auth NONE = new Auth(false, null, null);
  }

  /** One Redis server. */
  record Standalone(HostPort server, int database, Auth auth) implements StoreUri {
    public Standalone {
      Objects.requireNonNull(server, "server");
      Objects.requireNonNull(auth, "auth");
    }

    @Override
    public String toString() {
      return (auth.tls() ? "rediss://" : "redis://") + credentials(auth) + server + (database == 0 ? "" : "/" + database);
    }
  }

  /** A Redis Cluster, found from its seed nodes. */
  record Cluster(List<HostPort> seeds, Auth auth) implements StoreUri {
    public Cluster {
      seeds = List.copyOf(seeds);
      Objects.requireNonNull(auth, "auth");
      if (seeds.isEmpty()) {
        throw new IllegalArgumentException("no seed nodes");
      }
    }

    @Override
    public String toString() {
      return (auth.tls() ? "rediss-cluster://" : "redis-cluster://") + credentials(auth) + join(seeds);
    }
  }

  /** The master that Redis Sentinels name {@code master}. */
  record Sentinel(List<HostPort> sentinels, String master, int database, Auth auth) implements StoreUri {
    public Sentinel {
      sentinels = List.copyOf(sentinels);
      Objects.requireNonNull(master, "master");
      Objects.requireNonNull(auth, "auth");
      if (sentinels.isEmpty()) {
        throw new IllegalArgumentException("no sentinels");
      }
      if (master.isEmpty()) {
        throw new IllegalArgumentException("no master name");
      }
    }

    @Override
    public String toString() {
      return (auth.tls() ? "rediss-sentinel://" : "redis-sentinel://") + credentials(auth) + join(sentinels) + "/"
          + master;
    }
  }

  /**
   * Parses a store as written in config or on the command line.
   *
   * @throws IllegalArgumentException saying what is wrong and what the forms are
   */
  static StoreUri parse(String text) {
    Objects.requireNonNull(text, "text");
    String trimmed = text.strip();
    if (trimmed.equalsIgnoreCase("memory")) {
      return new Memory();
    }
    int schemeEnd = trimmed.indexOf("://");
    if (schemeEnd < 0) {
      throw invalid(text, "no scheme");
    }
    String scheme = trimmed.substring(0, schemeEnd).toLowerCase(Locale.ROOT);
    String rest = trimmed.substring(schemeEnd + 3);
    boolean tls = scheme.startsWith("rediss");
    int at = rest.lastIndexOf('@');
    Auth auth = Auth.NONE;
    if (at >= 0) {
      auth = credentials(text, rest.substring(0, at), tls);
      rest = rest.substring(at + 1);
    } else if (tls) {
      auth = new Auth(true, null, null);
    }
    try {
      return switch (scheme) {
        case "redis", "rediss" -> {
          int slash = rest.indexOf('/');
          String hosts = slash < 0 ? rest : rest.substring(0, slash);
          int database = slash < 0 || slash == rest.length() - 1 ? 0 : database(rest.substring(slash + 1));
          List<HostPort> servers = hostPorts(hosts, 6379);
          if (servers.size() != 1) {
            throw new IllegalArgumentException("one host expected; for several use redis-cluster:// or redis-sentinel://");
          }
          yield new Standalone(servers.getFirst(), database, auth);
        }
        case "redis-cluster", "rediss-cluster" -> {
          if (rest.indexOf('/') >= 0 && !rest.endsWith("/")) {
            throw new IllegalArgumentException("a cluster has no database or path");
          }
          yield new Cluster(hostPorts(rest.endsWith("/") ? rest.substring(0, rest.length() - 1) : rest, 6379), auth);
        }
        case "redis-sentinel", "rediss-sentinel" -> {
          int slash = rest.indexOf('/');
          if (slash < 0) {
            throw new IllegalArgumentException("no master name: add /MASTER after the sentinels");
          }
          String path = rest.substring(slash + 1);
          int database = 0;
          int dbSlash = path.indexOf('/');
          if (dbSlash >= 0) {
            database = database(path.substring(dbSlash + 1));
            path = path.substring(0, dbSlash);
          }
          yield new Sentinel(hostPorts(rest.substring(0, slash), 26379), path, database, auth);
        }
        default -> throw new IllegalArgumentException("unknown scheme '" + scheme + "'");
      };
    } catch (IllegalArgumentException e) {
      throw invalid(text, e.getMessage());
    }
  }

  private static IllegalArgumentException invalid(String text, String why) {
    return new IllegalArgumentException("invalid store '" + redact(text) + "': " + why
        + "; expected memory, redis://host:port, rediss://host:port, redis-cluster://host:port,host:port"
        + " or redis-sentinel://host:port,host:port/master");
  }

  private static Auth credentials(String text, String userInfo, boolean tls) {
    int colon = userInfo.indexOf(':');
    if (colon < 0) {
      // redis://password@host, as Lettuce reads it.
      return new Auth(tls, null, decode(userInfo));
    }
    String user = userInfo.substring(0, colon);
    return new Auth(tls, user.isEmpty() ? null : decode(user), decode(userInfo.substring(colon + 1)));
  }

  private static String decode(String text) {
    return java.net.URLDecoder.decode(text.replace("+", "%2B"), java.nio.charset.StandardCharsets.UTF_8);
  }

  private static int database(String text) {
    try {
      int database = Integer.parseInt(text);
      if (database >= 0) {
        return database;
      }
    } catch (NumberFormatException e) {
      // below
    }
    throw new IllegalArgumentException("database must be a number >= 0, found '" + text + "'");
  }

  private static List<HostPort> hostPorts(String text, int defaultPort) {
    if (text.isEmpty()) {
      throw new IllegalArgumentException("no host");
    }
    List<HostPort> result = new ArrayList<>();
    for (String part : text.split(",", -1)) {
      String host;
      String port = null;
      if (part.startsWith("[")) {
        int close = part.indexOf(']');
        if (close < 0) {
          throw new IllegalArgumentException("unclosed '[' in '" + part + "'");
        }
        host = part.substring(1, close);
        if (close + 1 < part.length()) {
          if (part.charAt(close + 1) != ':') {
            throw new IllegalArgumentException("expected ':' after ']' in '" + part + "'");
          }
          port = part.substring(close + 2);
        }
      } else {
        int colon = part.lastIndexOf(':');
        host = colon < 0 ? part : part.substring(0, colon);
        port = colon < 0 ? null : part.substring(colon + 1);
      }
      if (host.isEmpty()) {
        throw new IllegalArgumentException("empty host in '" + text + "'");
      }
      int number = defaultPort;
      if (port != null) {
        try {
          number = Integer.parseInt(port);
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException("port must be a number, found '" + port + "'");
        }
      }
      result.add(new HostPort(host, number));
    }
    return result;
  }

  private static String credentials(Auth auth) {
    if (auth.password() == null) {
      return "";
    }
    return (auth.username() == null ? "" : auth.username()) + ":***@";
  }

  private static String join(List<HostPort> hosts) {
    return String.join(",", hosts.stream().map(HostPort::toString).toList());
  }

  /** The text with any password replaced by {@code ***}, for messages. */
  static String redact(String text) {
    int scheme = text.indexOf("://");
    int at = text.lastIndexOf('@');
    if (scheme < 0 || at < scheme) {
      return text;
    }
    String userInfo = text.substring(scheme + 3, at);
    int colon = userInfo.indexOf(':');
    return text.substring(0, scheme + 3) + (colon < 0 ? "" : userInfo.substring(0, colon)) + ":***" + text.substring(at);
  }
}
