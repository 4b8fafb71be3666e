package dev.meshguard.ca.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.crypto.factories.DefaultJWSVerifierFactory;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.IOException;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.text.ParseException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A real HTTPS server that answers {@code POST /apis/authentication.k8s.io/v1/tokenreviews} the way
 * the Kubernetes API server does. This is the one place the test suite encodes that peer's
 * behaviour; every TokenReview test goes through it, so a change in Kubernetes is fixed here once.
 *
 * <p>What it reproduces (Kubernetes API reference, TokenReview v1; the service-account JWT
 * authenticator in {@code pkg/serviceaccount/jwt.go} and {@code claims.go}):
 * <ul>
 *   <li>the caller (the reviewer) must present {@code Authorization: Bearer <its token>}: none or an
 *       unknown one is {@code 401} with a {@code Status} body ({@code reason: Unauthorized}); a known
 *       reviewer without RBAC permission to create tokenreviews is {@code 403} ({@code Forbidden});
 *   <li>a review is answered {@code 201 Created} with the {@code TokenReview} echoed back (kind,
 *       apiVersion, {@code metadata.creationTimestamp: null}, spec) and its {@code status};
 *   <li>a token the service-account authenticator does not recognise (not a JWT, or another
 *       issuer) gets {@code status: {user: {}}}: no {@code authenticated}, no {@code error};
 *   <li>a token of this issuer: the signature is checked first, then the audience (the
 *       intersection of the token's {@code aud} and {@code spec.audiences}, or the API server's own
 *       audiences when the spec has none), then expiry; a failure gets {@code status: {user: {},
 *       error: "[invalid bearer token, <reason>]"}} with the authenticator's reason text, e.g.
 *       {@code token audiences ["x"] is invalid for the target audiences ["istio-ca"]} or
 *       {@code service account token has expired};
 *   <li>a valid token gets {@code authenticated: true}, the user (name
 *       {@code system:serviceaccount:<ns>:<sa>}, the account's uid, groups
 *       {@code system:serviceaccounts}, {@code system:serviceaccounts:<ns>},
 *       {@code system:authenticated}, extra credential-id/pod-name/pod-uid) and the intersected
 *       {@code audiences}.
 * </ul>
 * It can also be switched to answer {@code 503} (an API server that is down). Its TLS certificate
 * is self-signed for {@code localhost} and 127.0.0.1; {@link #writeCaFile} writes it as the CA
 * file a client trusts. Reviews it received are kept for assertions.
 */
final class KubernetesApi implements AutoCloseable {
  static final String PATH = "/apis/authentication.k8s.io/v1/tokenreviews";
  /** The API server's own audience, used when a review names none. */
  static final List<String> API_AUDIENCES = List.of(ServiceAccountTokens.ISSUER);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final HttpsServer server;
  private final ExecutorService executor;
  private final X509Certificate certificate;
  private final ServiceAccountTokens tokens;
  private final Set<String> reviewers = ConcurrentHashMap.newKeySet();
  private final Set<String> forbiddenReviewers = ConcurrentHashMap.newKeySet();
  private final List<JsonNode> reviews = new CopyOnWriteArrayList<>();
  private volatile boolean down;

  private KubernetesApi(HttpsServer server, ExecutorService executor, X509Certificate certificate,
      ServiceAccountTokens tokens) {
    this.server = server;
    this.executor = executor;
    this.certificate = certificate;
    this.tokens = tokens;
  }

  /** Starts on a free port of 127.0.0.1, checking tokens of {@code tokens}' issuer. */
  static KubernetesApi start(ServiceAccountTokens tokens) throws Exception {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
    generator.initialize(new ECGenParameterSpec("secp256r1"));
    KeyPair keyPair = generator.generateKeyPair();
    X500Name name = new X500Name("CN=kube-apiserver");
    Instant now = Instant.now();
    JcaX509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(name, BigInteger.valueOf(now.toEpochMilli()),
        Date.from(now.minus(Duration.ofMinutes(5))), Date.from(now.plus(Duration.ofDays(1))), name, keyPair.getPublic());
    builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
    builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyCertSign));
    builder.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
    builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[] {
        new GeneralName(GeneralName.dNSName, "localhost"), new GeneralName(GeneralName.iPAddress, "127.0.0.1")}));
    X509Certificate certificate = new JcaX509CertificateConverter().getCertificate(
        builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(keyPair.getPrivate())));

    KeyStore store = KeyStore.getInstance("PKCS12");
    store.load(null, null);
    char[] password = "kube".toCharArray();
    store.setKeyEntry("apiserver", keyPair.getPrivate(), password, new X509Certificate[] {certificate});
    KeyManagerFactory keys = KeyManagerFactory.getInstance("PKIX");
    keys.init(store, password);
    SSLContext tls = SSLContext.getInstance("TLS");
    tls.init(keys.getKeyManagers(), null, null);

    HttpsServer https = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    https.setHttpsConfigurator(new HttpsConfigurator(tls));
    ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
    https.setExecutor(executor);
    KubernetesApi api = new KubernetesApi(https, executor, certificate, tokens);
    https.createContext("/", api::handle);
    https.start();
    return api;
  }

  /** {@code https://localhost:<port>}. */
  String url() {
    return "https://localhost:" + server.getAddress().getPort();
  }

  /** Lets {@code token} create tokenreviews (a reviewer bound to system:auth-delegator). */
  KubernetesApi allowReviewer(String token) {
    reviewers.add(token);
    return this;
  }

  /** {@code token} authenticates but may not create tokenreviews (403). */
  KubernetesApi forbidReviewer(String token) {
    forbiddenReviewers.add(token);
    return this;
  }

  /** While true, every request is answered 503, as by an API server behind a load balancer with no backend. */
  void down(boolean down) {
    this.down = down;
  }

  List<JsonNode> reviews() {
    return List.copyOf(reviews);
  }

  Path writeCaFile(Path file) throws IOException {
    Files.writeString(file, "-----BEGIN CERTIFICATE-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'})
        .encodeToString(encoded()) + "\n-----END CERTIFICATE-----\n");
    return file;
  }

  private byte[] encoded() {
    try {
      return certificate.getEncoded();
    } catch (java.security.cert.CertificateEncodingException e) {
      throw new IllegalStateException(e);
    }
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      if (down) {
        reply(exchange, 503, status(503, "ServiceUnavailable", "the server is currently unable to handle the request"));
        return;
      }
      String authorization = exchange.getRequestHeaders().getFirst("Authorization");
      String reviewer = authorization != null && authorization.startsWith("Bearer ") ? authorization.substring(7) : null;
      if (reviewer == null || !(reviewers.contains(reviewer) || forbiddenReviewers.contains(reviewer))) {
        reply(exchange, 401, status(401, "Unauthorized", "Unauthorized"));
        return;
      }
      if (!exchange.getRequestURI().getPath().equals(PATH) || !exchange.getRequestMethod().equals("POST")) {
        reply(exchange, 404, status(404, "NotFound", "the server could not find the requested resource"));
        return;
      }
      if (forbiddenReviewers.contains(reviewer)) {
        ObjectNode forbidden = status(403, "Forbidden", "tokenreviews.authentication.k8s.io is forbidden: User"
            + " \"system:serviceaccount:meshguard:meshguard-ca\" cannot create resource \"tokenreviews\" in API group"
            + " \"authentication.k8s.io\" at the cluster scope");
        forbidden.putObject("details").put("group", "authentication.k8s.io").put("kind", "tokenreviews");
        reply(exchange, 403, forbidden);
        return;
      }
      JsonNode request = JSON.readTree(exchange.getRequestBody());
      reviews.add(request);
      ObjectNode review = JSON.createObjectNode();
      review.put("kind", "TokenReview");
      review.put("apiVersion", "authentication.k8s.io/v1");
      review.putObject("metadata").putNull("creationTimestamp");
      review.set("spec", request.path("spec").deepCopy());
      review.set("status", review(request.path("spec")));
      reply(exchange, 201, review);
    }
  }

  private ObjectNode review(JsonNode spec) {
    ObjectNode status = JSON.createObjectNode();
    status.putObject("user");
    List<String> wanted = new ArrayList<>();
    spec.path("audiences").forEach(a -> wanted.add(a.asText()));
    if (wanted.isEmpty()) {
      wanted.addAll(API_AUDIENCES);
    }
    SignedJWT jwt;
    JWTClaimsSet claims;
    try {
      jwt = SignedJWT.parse(spec.path("token").asText(""));
      claims = jwt.getJWTClaimsSet();
    } catch (ParseException e) {
      return status; // not a JWT: no authenticator recognises it
    }
    if (!tokens.issuer().equals(claims.getIssuer())) {
      return status; // another issuer: the service-account authenticator skips it
    }
    if (!signatureVerifies(jwt)) {
      return status.put("error", "[invalid bearer token, go-jose/go-jose: error in cryptographic primitive]");
    }
    List<String> granted = claims.getAudience().stream().filter(wanted::contains).toList();
    if (granted.isEmpty()) {
      return status.put("error", "[invalid bearer token, token audiences " + goQuote(claims.getAudience())
          + " is invalid for the target audiences " + goQuote(wanted) + "]");
    }
    if (claims.getExpirationTime() != null && Instant.now().isAfter(claims.getExpirationTime().toInstant())) {
      return status.put("error", "[invalid bearer token, service account token has expired]");
    }
    String[] sub = claims.getSubject().split(":");
    String namespace = sub[2];
    String name = sub[3];
    status.put("authenticated", true);
    ObjectNode user = status.putObject("user");
    user.put("username", claims.getSubject());
    user.put("uid", ServiceAccountTokens.uid(namespace, name));
    ArrayNode groups = user.putArray("groups");
    groups.add("system:serviceaccounts").add("system:serviceaccounts:" + namespace).add("system:authenticated");
    ObjectNode extra = user.putObject("extra");
    extra.putArray("authentication.kubernetes.io/credential-id").add("JTI=" + claims.getJWTID());
    @SuppressWarnings("unchecked")
    Map<String, Object> pod = (Map<String, Object>) ((Map<String, Object>) claims.getClaim("kubernetes.io")).get("pod");
    extra.putArray("authentication.kubernetes.io/pod-name").add(String.valueOf(pod.get("name")));
    extra.putArray("authentication.kubernetes.io/pod-uid").add(String.valueOf(pod.get("uid")));
    ArrayNode audiences = status.putArray("audiences");
    granted.forEach(audiences::add);
    return status;
  }

  private boolean signatureVerifies(SignedJWT jwt) {
    for (JWK key : tokens.publicKeys().getKeys()) {
      try {
        PublicKey publicKey = key instanceof RSAKey rsa ? rsa.toRSAPublicKey() : ((ECKey) key).toECPublicKey();
        if (jwt.verify(new DefaultJWSVerifierFactory().createJWSVerifier(jwt.getHeader(), publicKey))) {
          return true;
        }
      } catch (JOSEException e) {
        // not this key
      }
    }
    return false;
  }

  /** Go's {@code %q} of a {@code []string}: {@code ["a" "b"]}. */
  private static String goQuote(List<String> values) {
    return "[" + String.join(" ", values.stream().map(v -> "\"" + v + "\"").toList()) + "]";
  }

  private static ObjectNode status(int code, String reason, String message) {
    ObjectNode status = JSON.createObjectNode();
    status.put("kind", "Status");
    status.put("apiVersion", "v1");
    status.putObject("metadata");
    status.put("status", "Failure");
    status.put("message", message);
    status.put("reason", reason);
    status.put("code", code);
    return status;
  }

  private static void reply(HttpExchange exchange, int code, JsonNode body) throws IOException {
    byte[] bytes = JSON.writeValueAsBytes(body);
    exchange.getResponseHeaders().set("Content-Type", "application/json");
    exchange.sendResponseHeaders(code, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
