package dev.meshguard.audit;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * The exact bytes of one chained event: the log's on-disk format, defined precisely enough that
 * an independent verifier can recompute every hash (the README repeats this).
 *
 * <p>A line is compact JSON (no insignificant whitespace), UTF-8, ending in {@code \n}. Its members
 * are the event's fields in snake_case plus {@code v} (schema version), {@code seq} and
 * {@code prev}, sorted by key at every level, members whose value is null omitted; then, last,
 * {@code "hash":"H"}. {@code time} is RFC 3339 UTC with exactly nine fractional digits.
 *
 * <p>Let {@code L} be the line without its {@code \n}. The <em>canonical bytes</em> {@code C} are
 * {@code L} with its final {@code ,"hash":"H"} member removed (so {@code C} ends in {@code }}).
 * {@code H = lowercase hex(SHA-256(P || C))} where {@code P} is the 32 raw bytes of the previous
 * event's hash ({@code prev}, 32 zero bytes for the first event of a log). Hashing the bytes as
 * written, rather than a re-serialisation, means a verifier needs no JSON canonicaliser at all.
 */
final class EventLine {
  static final int HASH_BYTES = 32;
  static final String GENESIS_PREV = "0".repeat(HASH_BYTES * 2);
  private static final byte[] HASH_MEMBER_PREFIX = ",\"hash\":\"".getBytes(StandardCharsets.US_ASCII);
  // ,"hash":" + 64 hex + "}
  private static final int HASH_SUFFIX_LENGTH = HASH_MEMBER_PREFIX.length + HASH_BYTES * 2 + 2;
  private static final HexFormat HEX = HexFormat.of();
  private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSSSSSSS'Z'")
      .withZone(ZoneOffset.UTC);
  /** For reading lines back; writing uses {@link Encoder}. */
  static final ObjectMapper JSON = new ObjectMapper();

  private EventLine() {}

  /** The encoded line (with {@code \n}) and its hash (hex). */
  record Encoded(byte[] bytes, String hash) {}

  /** Encodes one event; see {@link Encoder} for the writer thread's allocation-lean version. */
  static Encoded encode(AuditEvent event, long seq, String prevHash) {
    return new Encoder().encode(event, seq, prevHash);
  }

  /**
   * Writes events straight to a reusable buffer with a streaming generator, members in key
   * order by construction. This is the writer thread's hot loop: building a Jackson tree, sorting
   * a copy and serialising it cost several times the SHA-256 (measured with bench/run
   * audit-write). Not thread-safe: one per writer.
   */
  static final class Encoder {
    private final JsonLineWriter json = new JsonLineWriter();
    private final MessageDigest digest = sha256();
    // The previous call's hash, as text and bytes: the writer chains each event to the one it
    // encoded just before, so the hex rarely needs parsing.
    private String lastHash;
    private byte[] lastHashBytes;

    Encoded encode(AuditEvent event, long seq, String prevHash) {
      json.reset();
      writeEvent(json, event, seq, prevHash);
      byte[] canonical = json.toByteArray();
      digest.reset();
      digest.update(prevHash.equals(lastHash) ? lastHashBytes : HEX.parseHex(prevHash));
      digest.update(canonical);
      byte[] hashBytes = digest.digest();
      String hash = HEX.formatHex(hashBytes);
      lastHash = hash;
      lastHashBytes = hashBytes;
      byte[] line = new byte[canonical.length - 1 + HASH_SUFFIX_LENGTH + 1];
      System.arraycopy(canonical, 0, line, 0, canonical.length - 1);
      int at = canonical.length - 1;
      System.arraycopy(HASH_MEMBER_PREFIX, 0, line, at, HASH_MEMBER_PREFIX.length);
      at += HASH_MEMBER_PREFIX.length;
      for (int i = 0; i < hash.length(); i++) {
        line[at++] = (byte) hash.charAt(i);
      }
      line[at++] = '"';
      line[at++] = '}';
      line[at] = '\n';
      return new Encoded(line, hash);
    }

    // Members in key order at every level; null members are left out.
    private static void writeEvent(JsonLineWriter g, AuditEvent e, long seq, String prevHash) {
      g.startObject();
      AuditEvent.Checkpoint c = e.checkpoint();
      if (c != null) {
        g.startObject("checkpoint");
        g.field("dropped", c.dropped());
        g.field("head_hash", c.headHash());
        g.field("head_seq", c.headSeq());
        g.field("key_id", c.keyId());
        g.field("signature", c.signature());
        g.endObject();
      }
      g.field("component", e.component());
      g.field("id", e.id());
      g.field("kind", e.kind());
      g.field("latency_us", e.latencyUs());
      AuditEvent.AuditObject o = e.object();
      if (o != null) {
        g.startObject("object");
        g.field("descriptors", o.descriptors());
        if (o.headers() != null) {
          g.startObject("headers");
          for (var header : o.headers().entrySet()) { // a sorted map (AuditObject copies into a TreeMap)
            g.field(header.getKey(), header.getValue());
          }
          g.endObject();
        }
        g.field("host", o.host());
        g.field("method", o.method());
        g.field("path", o.path());
        g.field("serial", o.serial());
        g.field("spiffe_id", o.spiffeId());
        g.field("workload", o.workload());
        g.endObject();
      }
      g.field("outcome", e.outcome());
      AuditEvent.PolicyRef p = e.policy();
      if (p != null) {
        g.startObject("policy");
        g.field("name", p.name());
        g.field("revision", p.revision());
        g.field("rule", p.rule());
        g.endObject();
      }
      g.field("prev", prevHash);
      g.field("reason", e.reason());
      g.field("seq", seq);
      AuditEvent.Subject s = e.subject();
      if (s != null) {
        g.startObject("subject");
        g.field("principal", s.principal());
        g.field("request_principal", s.requestPrincipal());
        g.field("source_ip", s.sourceIp());
        g.endObject();
      }
      g.field("time", e.time());
      g.field("v", AuditEvent.SCHEMA_VERSION);
      g.endObject();
    }
  }

  /**
   * Recomputes the hash of a written line (without its newline) from the previous hash.
   *
   * @throws IllegalArgumentException when the line does not end in a well-formed hash member
   */
  static String recomputeHash(String prevHash, byte[] line) {
    int suffixStart = line.length - HASH_SUFFIX_LENGTH;
    if (suffixStart < 1 || !Arrays.equals(line, suffixStart, suffixStart + HASH_MEMBER_PREFIX.length,
        HASH_MEMBER_PREFIX, 0, HASH_MEMBER_PREFIX.length) || line[line.length - 1] != '}'
        || line[line.length - 2] != '"') {
      throw new IllegalArgumentException("the line does not end with a \"hash\" member");
    }
    byte[] canonical = Arrays.copyOf(line, suffixStart + 1);
    canonical[suffixStart] = '}';
    return hash(prevHash, canonical, canonical.length);
  }

  /** The hash member's value as written at the end of the line. */
  static String writtenHash(byte[] line) {
    int start = line.length - HASH_SUFFIX_LENGTH + HASH_MEMBER_PREFIX.length;
    return new String(line, start, HASH_BYTES * 2, StandardCharsets.US_ASCII);
  }

  static JsonNode parse(byte[] line) throws JsonProcessingException {
    try {
      return JSON.readTree(line);
    } catch (JsonProcessingException e) {
      throw e;
    } catch (java.io.IOException e) {
      // readTree(byte[]) reads memory: any other IOException is a bug, not bad input.
      throw new java.io.UncheckedIOException(e);
    }
  }

  static String formatTime(Instant time) {
    return TIME.format(time);
  }

  static String sha256Hex(byte[] data) {
    return HEX.formatHex(sha256().digest(data));
  }

  private static String hash(String prevHash, byte[] canonical, int length) {
    MessageDigest digest = sha256();
    digest.update(HEX.parseHex(prevHash));
    digest.update(canonical, 0, length);
    return HEX.formatHex(digest.digest());
  }

  static MessageDigest sha256() {
    try {
      // The first provider offering SHA-256: BCFIPS in FIPS mode (installed at position 1).
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is not available", e);
    }
  }
}
