package dev.meshguard.authz;

import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.tls.PemFiles;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * Fetches a bundle archive from an HTTPS URL with conditional GETs: the ETag of the last answer
 * goes back as {@code If-None-Match}, and {@code 304 Not Modified} means unchanged (as OPA's
 * bundle downloader does). A {@code 200} whose ETag or bytes equal the last ones is unchanged too.
 *
 * <p>TLS is verified against {@code bundle_ca} when set (only those CAs are trusted), else the
 * JDK's default trust store; host names are always checked. TLS runs on the crypto mode's JSSE
 * provider (BCJSSE in FIPS mode). Redirects are not followed: a bundle URL names the bundle.
 *
 * <p>The ETag and digest are remembered even when the bundle they belong to is then refused, so
 * a bad bundle is reported once, not re-downloaded and re-refused on every poll; the server keeps
 * its last good program and {@code last_error} says why until the bundle changes.
 */
final class HttpsBundlePoller implements AutoCloseable {

  static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(30);
  static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);

  private final URI uri;
  private final long maxBytes;
  private final HttpClient client;
  private final LongAdder changed = new LongAdder();
  private final LongAdder unchanged = new LongAdder();
  private final LongAdder failed = new LongAdder();
  private String etag; // only the server's poll thread touches these
  private byte[] digest;

  HttpsBundlePoller(URI uri, Path caFile, Crypto crypto, long maxBytes) throws ConfigException {
    this.uri = uri;
    this.maxBytes = maxBytes;
    HttpClient.Builder b = HttpClient.newBuilder()
        .connectTimeout(CONNECT_TIMEOUT)
        .followRedirects(HttpClient.Redirect.NEVER);
    if (uri.getScheme().equalsIgnoreCase("https")) {
      b.sslContext(sslContext(caFile, crypto));
    }
    this.client = b.build();
  }

  private static SSLContext sslContext(Path caFile, Crypto crypto) throws ConfigException {
    try {
      TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX", crypto.tlsProvider());
      if (caFile == null) {
        tmf.init((KeyStore) null);
      } else {
        List<X509Certificate> cas = PemFiles.readCertificates(crypto, caFile);
        KeyStore store = crypto.newKeyStore();
        for (int i = 0; i < cas.size(); i++) {
          store.setCertificateEntry("ca-" + i, cas.get(i));
        }
        tmf.init(store);
      }
      SSLContext context = SSLContext.getInstance("TLS", crypto.tlsProvider());
      context.init(null, tmf.getTrustManagers(), crypto.secureRandom());
      return context;
    } catch (GeneralSecurityException e) {
      throw ConfigException.forSetting("authz.bundle_ca", "cannot set up TLS for the bundle URL: " + e.getMessage());
    }
  }

  /**
   * One conditional GET.
   *
   * @return the archive's bytes when the bundle changed, null when it did not
   * @throws ConfigException when the server could not be asked or answered other than 200/304
   */
  byte[] fetchIfChanged() throws ConfigException {
    HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(REQUEST_TIMEOUT).GET()
        .header("Accept", "application/zip");
    if (etag != null) {
      request.header("If-None-Match", etag);
    }
    HttpResponse<InputStream> response;
    byte[] body;
    try {
      response = client.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
      try (InputStream in = response.body()) {
        if (response.statusCode() != 200) {
          in.readNBytes(4096); // drain a little so the connection can be reused
          body = null;
        } else {
          body = BundleArchive.readCapped(uri.toString(), in, maxBytes);
        }
      }
    } catch (IOException e) {
      failed.increment();
      throw BundleArchive.error(uri.toString(), "cannot fetch the bundle: " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      failed.increment();
      throw BundleArchive.error(uri.toString(), "interrupted while fetching the bundle");
    } catch (ConfigException e) {
      failed.increment();
      throw e;
    }
    int status = response.statusCode();
    if (status == 304) {
      unchanged.increment();
      return null;
    }
    if (status != 200) {
      failed.increment();
      throw BundleArchive.error(uri.toString(), "the bundle server answered HTTP " + status);
    }
    String newTag = response.headers().firstValue("ETag").orElse(null);
    byte[] newDigest = sha256(body);
    if (digest != null && Arrays.equals(newDigest, digest)) {
      etag = newTag;
      unchanged.increment();
      return null;
    }
    etag = newTag;
    digest = newDigest;
    changed.increment();
    return body;
  }

  long changed() {
    return changed.sum();
  }

  long unchanged() {
    return unchanged.sum();
  }

  long failed() {
    return failed.sum();
  }

  private static byte[] sha256(byte[] bytes) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(bytes);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every JDK", e);
    }
  }

  @Override
  public void close() {
    client.close();
  }
}
