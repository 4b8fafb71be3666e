package dev.meshguard.ca.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.meshguard.ca.server.CaServerOptions.TokenReviewOptions;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.crypto.Crypto;
import dev.meshguard.core.tls.PemFiles;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * Checks service-account tokens the way istiod does ({@code security/pkg/k8s/tokenreview}): a
 * {@code TokenReview} ({@code POST /apis/authentication.k8s.io/v1/tokenreviews}) with the token
 * and the accepted audiences, sent to the cluster's Kubernetes API with the reviewer's own token.
 * The token is valid when the review says {@code authenticated: true}, has no {@code error}, puts
 * the user in the group {@code system:serviceaccounts} with the user name
 * {@code system:serviceaccount:<namespace>:<name>}, and names an accepted audience in
 * {@code status.audiences} (the Kubernetes API reference asks clients that set
 * {@code spec.audiences} to check it; istiod does not, we do).
 *
 * <p>Written with {@link java.net.http.HttpClient} rather than a Kubernetes client library: one
 * POST of a fixed JSON shape does not justify one, and TLS must use the mode's JSSE provider
 * (BCJSSE in FIPS mode), which the client is given explicitly here.
 *
 * <p>What is not the caller's fault is not UNAUTHENTICATED: an unreachable API, a timeout, 429 or
 * 5xx is {@link TokenCheck.Unavailable} (the agent retries); our reviewer token refused (401/403),
 * an unreadable token file or an answer that is not a TokenReview is {@link TokenCheck.Failed}.
 */
final class TokenReviewValidator implements TokenValidator {
  static final String PATH = "/apis/authentication.k8s.io/v1/tokenreviews";
  private static final String SERVICE_ACCOUNTS_GROUP = "system:serviceaccounts";
  private static final ObjectMapper JSON = new ObjectMapper();
  /** A TokenReview answer is a few kilobytes; more is not one. */
  private static final int MAX_RESPONSE_BYTES = 1 << 20;

  private final TokenReviewOptions options;
  private final URI uri;
  private final List<String> audiences;
  private final HttpClient client;

  private TokenReviewValidator(TokenReviewOptions options, List<String> audiences, HttpClient client) {
    this.options = options;
    this.uri = URI.create(options.url().replaceAll("/+$", "") + PATH);
    this.audiences = List.copyOf(audiences);
    this.client = client;
  }

  /**
   * @param setting the config key of these options, named in errors
   * @throws ConfigException naming the CA file when it cannot be read, or the setting when TLS cannot be set up
   */
  static TokenReviewValidator create(String setting, TokenReviewOptions options, List<String> audiences, Crypto crypto)
      throws ConfigException {
    List<X509Certificate> anchors = PemFiles.readCertificates(crypto, options.caFile());
    SSLContext tls;
    try {
      KeyStore store = crypto.newKeyStore();
      for (int i = 0; i < anchors.size(); i++) {
        store.setCertificateEntry("kubernetes-ca-" + i, anchors.get(i));
      }
      TrustManagerFactory trust = TrustManagerFactory.getInstance("PKIX", crypto.tlsProvider());
      trust.init(store);
      tls = SSLContext.getInstance("TLS", crypto.tlsProvider());
      tls.init(null, trust.getTrustManagers(), crypto.secureRandom());
    } catch (GeneralSecurityException e) {
      throw ConfigException.forSetting(setting, "cannot set up TLS to " + options.url() + " with "
          + crypto.tlsProvider().getName() + ": " + e.getMessage());
    }
    HttpClient client = HttpClient.newBuilder()
        .sslContext(tls)
        .connectTimeout(options.timeout())
        .followRedirects(HttpClient.Redirect.NEVER)
        .build();
    return new TokenReviewValidator(options, audiences, client);
  }

  @Override
  public TokenCheck check(String token) {
    String reviewer;
    try {
      reviewer = readToken(options.tokenFile());
    } catch (IOException e) {
      return new TokenCheck.Failed("cannot read the reviewer token " + options.tokenFile() + ": " + e);
    }
    HttpRequest request = HttpRequest.newBuilder(uri)
        .timeout(options.timeout())
        .header("Content-Type", "application/json")
        .header("Accept", "application/json")
        .header("Authorization", "Bearer " + reviewer)
        .POST(HttpRequest.BodyPublishers.ofString(reviewRequest(token), StandardCharsets.UTF_8))
        .build();
    HttpResponse<byte[]> response;
    try {
      response = client.send(request, HttpResponse.BodyHandlers.ofByteArray());
    } catch (HttpTimeoutException e) {
      return new TokenCheck.Unavailable("the Kubernetes API at " + options.url() + " did not answer the TokenReview within "
          + options.timeout());
    } catch (IOException e) {
      return new TokenCheck.Unavailable("cannot reach the Kubernetes API at " + options.url() + ": " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new TokenCheck.Unavailable("interrupted while waiting for the Kubernetes API");
    }
    int status = response.statusCode();
    if (status == 429 || status >= 500) {
      return new TokenCheck.Unavailable("the Kubernetes API answered the TokenReview with HTTP " + status + statusMessage(response));
    }
    if (status == 401 || status == 403) {
      return new TokenCheck.Failed("the Kubernetes API refused our TokenReview with HTTP " + status + statusMessage(response)
          + "; the reviewer token in " + options.tokenFile() + " must belong to a service account that may create"
          + " tokenreviews (ClusterRole system:auth-delegator)");
    }
    if (status != 200 && status != 201) {
      return new TokenCheck.Failed("the Kubernetes API answered the TokenReview with HTTP " + status + statusMessage(response));
    }
    if (response.body().length > MAX_RESPONSE_BYTES) {
      return new TokenCheck.Failed("the Kubernetes API's TokenReview answer is larger than " + MAX_RESPONSE_BYTES + " bytes");
    }
    JsonNode review;
    try {
      review = JSON.readTree(response.body());
    } catch (IOException e) {
      return new TokenCheck.Failed("the Kubernetes API's TokenReview answer is not JSON: " + e.getMessage());
    }
    if (review == null || !"TokenReview".equals(review.path("kind").asText())) {
      return new TokenCheck.Failed("the Kubernetes API's answer is not a TokenReview (kind "
          + (review == null ? "absent" : review.path("kind")) + ")");
    }
    return interpret(review.path("status"));
  }

  /** The review's verdict on the token (package-private: the whole rule set in one place). */
  TokenCheck interpret(JsonNode status) {
    String error = status.path("error").asText("");
    if (!error.isEmpty()) {
      return new TokenCheck.Refused("the Kubernetes API did not authenticate the token: " + error);
    }
    if (!status.path("authenticated").asBoolean(false)) {
      return new TokenCheck.Refused("the Kubernetes API did not authenticate the token");
    }
    JsonNode user = status.path("user");
    boolean serviceAccount = false;
    for (JsonNode group : user.path("groups")) {
      serviceAccount |= SERVICE_ACCOUNTS_GROUP.equals(group.asText());
    }
    String username = user.path("username").asText(null);
    if (!serviceAccount) {
      return new TokenCheck.Refused("the token belongs to " + (username == null ? "a user" : "\"" + username + "\"")
          + ", who is not in the group " + SERVICE_ACCOUNTS_GROUP);
    }
    List<String> confirmed = new ArrayList<>();
    status.path("audiences").forEach(a -> confirmed.add(a.asText()));
    if (confirmed.stream().noneMatch(audiences::contains)) {
      return new TokenCheck.Refused("the Kubernetes API did not confirm the audience " + String.join(" or ", audiences)
          + " for the token (status.audiences " + confirmed + ")");
    }
    return TokenCheck.fromUsername(username);
  }

  private String reviewRequest(String token) {
    ObjectNode review = JSON.createObjectNode();
    review.put("apiVersion", "authentication.k8s.io/v1");
    review.put("kind", "TokenReview");
    ObjectNode spec = review.putObject("spec");
    spec.put("token", token);
    audiences.forEach(spec.putArray("audiences")::add);
    return review.toString();
  }

  /** {@code : <message>} of a Kubernetes {@code Status} body, or nothing. */
  private static String statusMessage(HttpResponse<byte[]> response) {
    try {
      JsonNode body = JSON.readTree(response.body());
      String message = body == null ? "" : body.path("message").asText("");
      return message.isEmpty() ? "" : " (" + (message.length() > 300 ? message.substring(0, 300) + "..." : message) + ")";
    } catch (IOException e) {
      return "";
    }
  }

  private static String readToken(Path file) throws IOException {
    if (Files.size(file) > JwksTokenValidator.MAX_TOKEN_CHARS) {
      throw new IOException("larger than " + JwksTokenValidator.MAX_TOKEN_CHARS + " bytes; not a token");
    }
    String token = Files.readString(file, StandardCharsets.UTF_8).strip();
    if (token.isEmpty()) {
      throw new IOException("the file is empty");
    }
    return token;
  }
}
