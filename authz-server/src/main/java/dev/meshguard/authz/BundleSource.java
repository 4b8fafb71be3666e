package dev.meshguard.authz;

import dev.meshguard.core.config.ConfigError;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.policy.PolicyBundle;
import dev.meshguard.policy.PolicySet;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.util.List;
import java.util.Locale;

/**
 * Where the server's policies come from when {@code authz.bundle} is set: a signed policy bundle
 * ({@link PolicyBundle}) in a directory, in a ZIP file ({@link BundleArchive}), or at an HTTPS
 * URL ({@link HttpsBundlePoller}). Every bundle is verified against {@code authz.bundle_key}
 * before its policies are used; a bundle that does not verify is refused with every reason.
 *
 * <p>Local bundles are watched like policy files (the server hashes {@link #watchedPaths()} on
 * its reload poll); a remote one is polled on its own interval by {@link #poll()}. Only the
 * server's poll thread calls in (under its lock).
 */
final class BundleSource implements AutoCloseable {

  /** A bundle file (ZIP) or download larger than this is refused before it is unpacked. */
  static final long MAX_ARCHIVE_BYTES = 64L << 20;

  private final String location;
  private final PublicKey key;
  private final Crypto crypto;
  private final Path local;
  private final HttpsBundlePoller remote;
  private PolicySet last; // the last good set of a remote bundle

  private BundleSource(String location, PublicKey key, Crypto crypto, Path local, HttpsBundlePoller remote) {
    this.location = location;
    this.key = key;
    this.crypto = crypto;
    this.local = local;
    this.remote = remote;
  }

  /**
   * The source {@code options} name, or null when they name no bundle.
   *
   * @throws ConfigException when the key is missing or unreadable, the URL is not HTTPS (and
   *     plain HTTP is not allowed), or the CA file does not load
   */
  static BundleSource open(AuthzOptions options, Crypto crypto) throws ConfigException {
    String location = options.bundle();
    if (location == null || location.isBlank()) {
      return null;
    }
    if (options.bundleKey() == null) {
      throw ConfigException.forSetting("authz.bundle_key", "a bundle is only loaded when its signature verifies: "
          + "set authz.bundle_key (--bundle-key) to the public key bundles are signed with");
    }
    PublicKey key = PolicyBundle.readPublicKey(crypto, options.bundleKey());
    String scheme = schemeOf(location);
    if (scheme == null) {
      return new BundleSource(location, key, crypto, Path.of(location), null);
    }
    if (scheme.equals("http") && !options.bundleAllowHttp()) {
      throw ConfigException.forSetting("authz.bundle", "refusing plain http for " + location
          + ": use https, or set authz.bundle_allow_http: true to accept a bundle anyone on the path can replace"
          + " (its signature is still checked)");
    }
    if (!scheme.equals("https") && !scheme.equals("http")) {
      throw ConfigException.forSetting("authz.bundle", "unsupported scheme \"" + scheme + "\" in " + location
          + ": a bundle is a directory, a ZIP file, or an https:// URL");
    }
    URI uri;
    try {
      uri = URI.create(location);
    } catch (IllegalArgumentException e) {
      throw ConfigException.forSetting("authz.bundle", "not a URL: " + e.getMessage());
    }
    return new BundleSource(location, key, crypto, null,
        new HttpsBundlePoller(uri, options.bundleCa(), crypto, MAX_ARCHIVE_BYTES));
  }

  private static String schemeOf(String location) {
    int colon = location.indexOf("://");
    if (colon <= 0) {
      return null;
    }
    String scheme = location.substring(0, colon);
    return scheme.chars().allMatch(c -> Character.isLetterOrDigit(c) || c == '+' || c == '-' || c == '.')
        ? scheme.toLowerCase(Locale.ROOT) : null;
  }

  String location() {
    return location;
  }

  boolean remote() {
    return remote != null;
  }

  /** What the reload poll hashes: the local bundle; nothing for a remote one. */
  List<Path> watchedPaths() {
    return local == null ? List.of() : List.of(local);
  }

  /**
   * The bundle's policies now: a local bundle is read and verified; a remote one's last good set
   * is returned, fetched first if there is none yet.
   *
   * @throws ConfigException why the bundle is refused or could not be fetched
   */
  PolicySet current() throws ConfigException {
    if (remote == null) {
      return loadLocal();
    }
    if (last == null) {
      poll();
      if (last == null) {
        throw BundleArchive.error(location, "no bundle fetched yet");
      }
    }
    return last;
  }

  /**
   * Remote only: asks the server whether the bundle changed ({@code If-None-Match}); returns the
   * new verified policies, or null when it did not change.
   *
   * @throws ConfigException when the fetch failed or the new bundle is refused (the last good
   *     set stays {@link #current()})
   */
  PolicySet poll() throws ConfigException {
    if (remote == null) {
      return null;
    }
    byte[] archive = remote.fetchIfChanged();
    if (archive == null) {
      return null;
    }
    PolicySet set = fromArchive(location, archive);
    last = set;
    return set;
  }

  /** Polls since start: what the remote answered ({@code changed}, {@code unchanged}, {@code failed}). */
  HttpsBundlePoller poller() {
    return remote;
  }

  private PolicySet loadLocal() throws ConfigException {
    if (Files.isDirectory(local)) {
      return PolicyBundle.verify(local, key, crypto).policies();
    }
    if (!Files.isRegularFile(local)) {
      throw BundleArchive.error(location, "no such bundle directory or file");
    }
    byte[] archive;
    try (InputStream in = Files.newInputStream(local)) {
      archive = BundleArchive.readCapped(location, in, MAX_ARCHIVE_BYTES);
    } catch (IOException e) {
      throw BundleArchive.error(location, "cannot read: " + e);
    }
    return fromArchive(location, archive);
  }

  private PolicySet fromArchive(String source, byte[] archive) throws ConfigException {
    Path dir = null;
    try {
      dir = Files.createTempDirectory("meshguard-bundle-");
      BundleArchive.extract(source, archive, dir);
      return PolicyBundle.verify(dir, key, crypto).policies();
    } catch (ConfigException e) {
      // Name the archive, not the temporary directory it was unpacked in.
      String tmp = dir == null ? null : dir.toString();
      throw new ConfigException(e.errors().stream().map(err -> tmp == null || !err.source().startsWith(tmp) ? err
          : new ConfigError(source + "!" + err.source().substring(tmp.length()), err.line(), err.column(),
              err.path(), err.message())).toList(), e);
    } catch (IOException e) {
      throw BundleArchive.error(source, "cannot unpack: " + e);
    } finally {
      BundleArchive.deleteQuietly(dir);
    }
  }

  @Override
  public void close() {
    if (remote != null) {
      remote.close();
    }
  }
}
