package dev.meshguard.policy;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The value checks against the Go functions Istio calls. Expected verdicts come from the Go
 * sources and documentation named on each table, not from these checks' output.
 */
class IstioChecksTest {

  /** Go net/netip ParseAddr: dotted-quad IPv4 without leading zeros; RFC 4291 IPv6; zones allowed. */
  @ParameterizedTest
  @ValueSource(strings = {"0.0.0.0", "255.255.255.255", "10.0.0.1", "::", "::1", "1::", "1:2:3:4:5:6:7:8",
      "2001:DB8::ff", "::ffff:1.2.3.4", "1:2:3:4:5:6:1.2.3.4", "fe80::1%eth0", "0:0::0"})
  void goAcceptsTheseAddresses(String address) {
    assertThat(IstioChecks.addressProblem(address)).isNull();
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "''|unable to parse IP",
      "1.2.3|IPv4 address too short",
      "1.2.3.4.5|IPv4 address too long",
      "01.2.3.4|IPv4 field has octet with leading zero",
      "256.0.0.0|IPv4 field has value >255",
      "1..2.3|IPv4 field must have at least one digit",
      "1.2.3.4.|IPv4 field must have at least one digit",
      "' 1.2.3.4'|unexpected character",
      "1:2:3:4:5:6:7:8:9|trailing garbage after address",
      "1:2:3:4:5:6:7|address string too short",
      ":1|each colon-separated field must have at least one digit",
      "1:|colon must be followed by more characters",
      "1::2::3|multiple :: in address",
      "12345::|each group must have 4 or less digits",
      "1::2:3:4:5:6:7:8|the :: must expand to at least one field of zeros",
      "1:2:3:4:5:6:7:1.2.3.4|embedded IPv4 address must replace the final 2 fields of the address",
      "::1:2:3:4:5:6:7:1.2.3.4|too many hex fields to fit an embedded IPv4 at the end of the address",
      "1:2:1.2.3.4|embedded IPv4 address must replace the final 2 fields of the address",
      "fe80::1%|zone must be a non-empty string",
      "%eth0|missing IPv6 address",
      "g::1|each colon-separated field must have at least one digit",
      "abc|unable to parse IP",
      "١٢٣.1.1.1|unexpected character"})
  void goRefusesTheseAddresses(String address, String reason) {
    assertThat(IstioChecks.addressProblem(address)).isEqualTo(reason);
  }

  /** Go net/netip ParsePrefix: bits in decimal without sign or leading zero, within the family; no zone. */
  @ParameterizedTest
  @CsvSource(delimiter = '|', nullValues = "OK", value = {
      "1.2.3.4/0|OK",
      "1.2.3.4/32|OK",
      "10.1.2.3/8|OK",
      "::/128|OK",
      "2001:db8::/32|OK",
      "1.2.3.4/33|prefix length out of range",
      "::/129|prefix length out of range",
      "1.2.3.4/-1|bad bits after slash: \"-1\"",
      "1.2.3.4/+1|bad bits after slash: \"+1\"",
      "1.2.3.4/01|bad bits after slash: \"01\"",
      "1.2.3.4/|bad bits after slash: \"\"",
      "1.2.3.4/1000|bad bits after slash: \"1000\"",
      "fe80::1%eth0/64|IPv6 zones cannot be present in a prefix",
      "1.2.3/8|IPv4 address too short"})
  void prefixesAsGoParsesThem(String prefix, String reason) {
    assertThat(IstioChecks.prefixProblem(prefix)).isEqualTo(reason);
  }

  /** strconv.ParseUint(port, 10, 32) and at most 65535 (security.ValidatePorts). */
  @ParameterizedTest
  @CsvSource(nullValues = "OK", value = {"0,OK", "80,OK", "65535,OK", "0080,OK", "00000000080,OK", "65536,bad",
      "-1,bad", "+1,bad", "'',bad", "'1 ',bad", "1_000,bad", "*,bad", "4294967296,bad", "١,bad"})
  void ports(String port, String verdict) {
    assertThat(IstioChecks.checkPort(port)).as(port).satisfies(problem -> {
      if (verdict == null) {
        assertThat(problem).isNull();
      } else {
        assertThat(problem).startsWith("bad port ");
      }
    });
  }

  /** The examples of istio/api authorization_policy.proto Operation.paths. */
  @ParameterizedTest
  @CsvSource(delimiter = '|', nullValues = "OK", value = {
      "/foo/{*}|OK",
      "/foo/{**}/|OK",
      "/foo/{*}/bar/{**}|OK",
      "/store/{**}/cart|OK",
      "/allow/admin/{**}|OK",
      "/api/*|OK",
      "*|OK",
      "/*/baz/{*}|is not a valid literal",
      "/**/baz/{*}|is not a valid literal",
      "/{**}/foo/{*}|{**} is not the last operator",
      "/foo/{*}.txt|beyond a supported path template",
      "/api/{id}|beyond a supported path template",
      "/api/{}|beyond a supported path template",
      "/a/{name=*}|beyond a supported path template"})
  void pathTemplates(String path, String reason) {
    String problem = IstioChecks.checkPathTemplate(path);
    if (reason == null) {
      assertThat(problem).isNull();
    } else {
      assertThat(problem).contains(reason);
    }
  }

  /** security.CheckServiceAccount. */
  @ParameterizedTest
  @CsvSource(delimiter = '|', nullValues = "OK", value = {
      "sa|OK",
      "ns/sa|OK",
      "''|empty value not allowed",
      "ns/*|wildcard not allowed",
      "a/b/c|expected format",
      "/sa|found empty namespace",
      "ns/|found empty serviceAccount"})
  void serviceAccounts(String value, String reason) {
    String problem = IstioChecks.checkServiceAccount(value);
    if (reason == null) {
      assertThat(problem).isNull();
    } else {
      assertThat(problem).contains(reason);
    }
  }

  @ParameterizedTest
  @CsvSource({"t,true", "True,true", "1,true", "F,false", "0,false", "FALSE,false"})
  void parseBoolLikeGo(String value, boolean expected) {
    assertThat(IstioChecks.parseBool(value)).isEqualTo(expected);
  }

  @ParameterizedTest
  @ValueSource(strings = {"yes", "no", "on", "TrUe", "", " true", "2"})
  void goParseBoolRefuses(String value) {
    assertThat(IstioChecks.parseBool(value)).isNull();
  }

  /** security.ValidateAttribute's order: request.headers is matched by prefix, so this odd key passes as Istio lets it. */
  @ParameterizedTest
  @CsvSource(delimiter = '|', nullValues = "OK", value = {
      "request.headers[x]|OK",
      "request.headersX[y]|OK",
      "request.experimental.inline.headers[x]|OK",
      "request.auth.claims[a][b]|OK",
      "experimental.envoy.filters.http.x[y]|OK",
      "source.ip|OK",
      "destination.port|OK",
      "request.headers[]|should have format a[b]",
      "request.headers|should have format a[b]",
      "source.IP|unknown attribute",
      "destination.namespace|replaced by the metadata.namespace",
      "destination.labels[x]|replaced by the workload selector",
      "destination.user|only supported in v1alpha1"})
  void conditionKeys(String key, String reason) {
    String problem = IstioChecks.checkKey(key).problem();
    if (reason == null) {
      assertThat(problem).isNull();
    } else {
      assertThat(problem).contains(reason);
    }
  }

  /** Protobuf JSON durations, then agent.ValidateDuration (at least 1ms, to the millisecond). */
  @ParameterizedTest
  @CsvSource(delimiter = '|', nullValues = "OK", value = {
      "5s|OK",
      "0.001s|OK",
      "1.5s|OK",
      "0.0005s|greater than 1ms",
      "1.0001s|ms precision",
      "500ms|invalid duration",
      "5|invalid duration",
      "1m|invalid duration"})
  void durations(String duration, String reason) {
    String problem = IstioChecks.checkDuration(duration);
    if (reason == null) {
      assertThat(problem).isNull();
    } else {
      assertThat(problem).contains(reason);
    }
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', nullValues = "OK", value = {
      "https://example.com/jwks|OK",
      "http://keys.internal:8080/jwks|OK",
      "HTTPS://example.com/jwks|OK",
      "ftp://example.com/jwks|is not supported",
      "example.com/jwks|is not supported",
      "https://exa mple.com|invalid jwksUri"})
  void jwksUris(String uri, String reason) {
    String problem = IstioChecks.checkJwksUri(uri);
    if (reason == null) {
      assertThat(problem).isNull();
    } else {
      assertThat(problem).contains(reason);
    }
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', nullValues = "OK", value = {
      "{\"keys\": []}|OK",
      "{\"kty\": \"oct\", \"k\": \"AAAA\"}|OK",
      "[]|expected a JSON object",
      "{\"keys\": {}}|must be a list",
      "{\"keys\": [{\"kty\": \"XYZ\"}]}|unsupported \"kty\"",
      "{\"keys\": [{\"n\": \"AQAB\", \"e\": \"AQAB\"}]}|missing \"kty\"",
      "{\"keys\": [{\"kty\": \"EC\", \"crv\": \"P-999\", \"x\": \"AA\", \"y\": \"AA\"}]}|unsupported EC curve",
      "{\"keys\": [{\"kty\": \"RSA\", \"n\": \"not base64!\", \"e\": \"AQAB\"}]}|must be a base64url string"})
  void jwks(String jwks, String reason) {
    String problem = IstioChecks.checkJwks(jwks);
    if (reason == null) {
      assertThat(problem).isNull();
    } else {
      assertThat(problem).startsWith("jwks parse error: ").contains(reason);
    }
  }
}
