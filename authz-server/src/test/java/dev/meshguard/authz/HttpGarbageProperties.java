package dev.meshguard.authz;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Garbage in on the HTTP service mode, over a real socket: random bytes, and requests whose
 * method, target and headers (the ones the translation reads included: {@code X-Original-*},
 * {@code X-Forwarded-*}, {@code x-forwarded-client-cert}, the identity header) are random. Whatever
 * arrives, an answer is 200, 401 or 403 with a decision id, or the connection closes without one
 * (an unfinished request at EOF); the port never answers anything else and keeps serving.
 */
class HttpGarbageProperties {

  private static AuthzFixture fixture;

  @BeforeContainer
  static void start() throws Exception {
    Path dir = Files.createTempDirectory("authz-http-garbage");
    fixture = AuthzFixture.start(dir, AuthzOptions.builder().defaultNamespace("shop")
        .httpPathPrefix("/authz").httpIdentityHeader("x-peer").trustXfcc(true)
        .limits(new AuthzOptions.InputLimits(50, 8192, 1024, 64 * 1024)).build(), HttpAuthzEndpointTest.POLICIES,
        null);
  }

  @AfterContainer
  static void stop() {
    fixture.close();
  }

  /** Sends {@code bytes}, half-closes, and returns everything the server sent until it closed. */
  private static byte[] exchange(byte[] bytes) throws IOException {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", fixture.server.httpPort()), 10_000);
      s.setSoTimeout(20_000);
      s.getOutputStream().write(bytes);
      s.getOutputStream().flush();
      s.shutdownOutput();
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      try {
        s.getInputStream().transferTo(out);
      } catch (java.net.SocketException e) {
        // a reset after the answer: what was read stands
      }
      return out.toByteArray();
    }
  }

  private static final Pattern STATUS_LINE = Pattern.compile("(?m)^HTTP/1\\.[01] (\\d{3}) ");

  /**
   * Every status line in {@code reply} is 200, 401 or 403, each answer has a decision id, and
   * there is at least one when {@code answerRequired}. (Status lines are scanned rather than
   * responses parsed: an answer to HEAD has a Content-Length and no body.)
   */
  private static void answeredWithinContract(byte[] reply, boolean answerRequired) {
    String text = new String(reply, StandardCharsets.ISO_8859_1);
    assertThat(text).as("only HTTP responses come back").matches(t -> t.isEmpty() || t.startsWith("HTTP/1."));
    Matcher m = STATUS_LINE.matcher(text);
    int answers = 0;
    while (m.find()) {
      answers++;
      assertThat(Integer.parseInt(m.group(1))).as(text).isIn(200, 401, 403);
    }
    if (answerRequired) {
      assertThat(answers).as("a complete request is answered").isPositive();
    }
    assertThat(text.split("(?i)\r\nx-meshguard-decision-id: ", -1).length - 1).as(text).isEqualTo(answers);
  }

  @Property(tries = 200)
  void randomBytesAreDeniedOrDropped(@ForAll("bytes") byte[] bytes) throws IOException {
    byte[] framed = new byte[bytes.length + 4];
    System.arraycopy(bytes, 0, framed, 0, bytes.length);
    System.arraycopy("\r\n\r\n".getBytes(StandardCharsets.US_ASCII), 0, framed, bytes.length, 4);
    answeredWithinContract(exchange(framed), false);
  }

  @Provide
  Arbitrary<byte[]> bytes() {
    return Arbitraries.bytes().array(byte[].class).ofMaxSize(512);
  }

  @Property(tries = 300)
  void requestsWithRandomPartsAreAnsweredWithinTheContract(@ForAll("requests") byte[] request) throws IOException {
    answeredWithinContract(exchange(request), true);
    assertThat(answeredOk()).as("the port keeps serving").isTrue();
  }

  private static boolean answeredOk() throws IOException {
    byte[] reply = exchange("GET /authz/api/ok HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    return new String(reply, StandardCharsets.ISO_8859_1).startsWith("HTTP/1.1 200 ");
  }

  /** Latin-1 text without CR and LF (those would end the line; the framing is not what is tested here). */
  private static Arbitrary<String> text(int max) {
    return Arbitraries.strings().withCharRange('\u0000', '\u00ff').excludeChars('\r', '\n').ofMaxLength(max);
  }

  @Provide
  Arbitrary<byte[]> requests() {
    Arbitrary<String> method = Arbitraries.oneOf(Arbitraries.of("GET", "POST", "DELETE", "HEAD", "OPTIONS", "get"),
        Arbitraries.strings().alpha().ofMinLength(1).ofMaxLength(12), text(12).filter(s -> !s.isEmpty()));
    Arbitrary<String> target = Arbitraries.oneOf(Arbitraries.of("/authz", "/authz/", "/authz/api/x", "/authz?x",
        "*", "http://h/authz/api/x", "/authz/api/%00", "/authz/api/..%2F..%2Fadmin"),
        text(80).map(t -> "/authz/" + t.replace(' ', '_')), text(40));
    Arbitrary<String> name = Arbitraries.oneOf(Arbitraries.of("X-Original-URI", "X-Original-Method",
        "X-Forwarded-Uri", "X-Forwarded-Method", "X-Forwarded-Host", "X-Forwarded-Proto", "x-forwarded-client-cert",
        "X-Peer", "Host", "Content-Length", "Transfer-Encoding", "Expect", "Connection", "x-forwarded-for"),
        Arbitraries.strings().withChars("abcxyz-_0123456789!#$").ofMinLength(1).ofMaxLength(20));
    Arbitrary<String> value = Arbitraries.oneOf(Arbitraries.of("/api/x", "GET", "DELETE", "0", "chunked",
        "100-continue", "close", "URI=spiffe://cluster.local/ns/web/sa/frontend", "URI=\"", "By=a;URI=b,URI=c",
        "spiffe://cluster.local/ns/web/sa/frontend", "1.2.3.4, 5.6.7.8", "not-an-ip"), text(200));
    Arbitrary<List<Map.Entry<String, String>>> headers = Combinators.combine(name, value).as(Map::entry)
        .list().ofMaxSize(12);
    return Combinators.combine(method, target, headers).as((m, t, hs) -> {
      StringBuilder sb = new StringBuilder().append(m).append(' ').append(t).append(" HTTP/1.1\r\n");
      for (Map.Entry<String, String> h : hs) {
        sb.append(h.getKey()).append(": ").append(h.getValue()).append("\r\n");
      }
      return sb.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1);
    });
  }
}
