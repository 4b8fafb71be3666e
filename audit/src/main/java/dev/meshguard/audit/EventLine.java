package dev.meshguard.audit;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.ByteBuffer;
import java.security.DigestException;
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

  /** Encodes one event; see {@link Encoder} for the writer thread's batch version. */
  static Encoded encode(AuditEvent event, long seq, String prevHash) {
    Encoder encoder = new Encoder(prevHash);
    encoder.append(event, seq);
    ByteBuffer line = encoder.lines();
    return new Encoded(Arrays.copyOfRange(line.array(), 0, line.limit()), encoder.headHash());
  }

  /**
   * Encodes a batch of chained lines into one reusable buffer, members in key order by
   * construction, each line hashed where it lies. This is the writer thread's hot loop (bench/run
   * audit-write), so it allocates nothing per event: no tree, no sorted copy, no per-line array, no
   * hash strings (the chain head is kept as bytes and written as hex straight into the line).
   * Not thread-safe: one per writer.
   */
  static final class Encoder {
    private static final JsonLineWriter.Key CHECKPOINT = new JsonLineWriter.Key("checkpoint");
    private static final JsonLineWriter.Key DROPPED = new JsonLineWriter.Key("dropped");
    private static final JsonLineWriter.Key HEAD_HASH = new JsonLineWriter.Key("head_hash");
    private static final JsonLineWriter.Key HEAD_SEQ = new JsonLineWriter.Key("head_seq");
    private static final JsonLineWriter.Key KEY_ID = new JsonLineWriter.Key("key_id");
    private static final JsonLineWriter.Key SIGNATURE = new JsonLineWriter.Key("signature");
    private static final JsonLineWriter.Key COMPONENT = new JsonLineWriter.Key("component");
    private static final JsonLineWriter.Key ID = new JsonLineWriter.Key("id");
    private static final JsonLineWriter.Key KIND = new JsonLineWriter.Key("kind");
    private static final JsonLineWriter.Key LATENCY_US = new JsonLineWriter.Key("latency_us");
    private static final JsonLineWriter.Key OBJECT = new JsonLineWriter.Key("object");
    private static final JsonLineWriter.Key AFTER = new JsonLineWriter.Key("after");
    private static final JsonLineWriter.Key BEFORE = new JsonLineWriter.Key("before");
    private static final JsonLineWriter.Key DESCRIPTORS = new JsonLineWriter.Key("descriptors");
    private static final JsonLineWriter.Key HEADERS = new JsonLineWriter.Key("headers");
    private static final JsonLineWriter.Key HOST = new JsonLineWriter.Key("host");
    private static final JsonLineWriter.Key METHOD = new JsonLineWriter.Key("method");
    private static final JsonLineWriter.Key PATH = new JsonLineWriter.Key("path");
    private static final JsonLineWriter.Key SERIAL = new JsonLineWriter.Key("serial");
    private static final JsonLineWriter.Key SPIFFE_ID = new JsonLineWriter.Key("spiffe_id");
    private static final JsonLineWriter.Key WORKLOAD = new JsonLineWriter.Key("workload");
    private static final JsonLineWriter.Key OUTCOME = new JsonLineWriter.Key("outcome");
    private static final JsonLineWriter.Key POLICY = new JsonLineWriter.Key("policy");
    private static final JsonLineWriter.Key NAME = new JsonLineWriter.Key("name");
    private static final JsonLineWriter.Key REVISION = new JsonLineWriter.Key("revision");
    private static final JsonLineWriter.Key RULE = new JsonLineWriter.Key("rule");
    private static final JsonLineWriter.Key PREV = new JsonLineWriter.Key("prev");
    private static final JsonLineWriter.Key REASON = new JsonLineWriter.Key("reason");
    private static final JsonLineWriter.Key SEQ = new JsonLineWriter.Key("seq");
    private static final JsonLineWriter.Key SUBJECT = new JsonLineWriter.Key("subject");
    private static final JsonLineWriter.Key PRINCIPAL = new JsonLineWriter.Key("principal");
    private static final JsonLineWriter.Key REQUEST_PRINCIPAL = new JsonLineWriter.Key("request_principal");
    private static final JsonLineWriter.Key SOURCE_IP = new JsonLineWriter.Key("source_ip");
    private static final JsonLineWriter.Key TIME = new JsonLineWriter.Key("time");
    private static final JsonLineWriter.Key V = new JsonLineWriter.Key("v");
    private static final JsonLineWriter.Key HASH = new JsonLineWriter.Key("hash");

    private final JsonLineWriter json = new JsonLineWriter();
    private final MessageDigest digest = sha256();
    // The chain head (the hash of the last line appended) and a spare for the next one, swapped.
    private byte[] head = new byte[HASH_BYTES];
    private byte[] next = new byte[HASH_BYTES];

    /** An encoder whose first line is chained to {@code headHash} (hex). */
    Encoder(String headHash) {
      setHead(headHash);
    }

    /** Chains the next line to {@code headHash} (hex): at start, or to roll back a failed batch. */
    void setHead(String headHash) {
      head = HEX.parseHex(headHash);
      if (head.length != HASH_BYTES) {
        throw new IllegalArgumentException("not a SHA-256 hash: " + headHash);
      }
    }

    /** The hash (hex) of the last line appended, or the one the encoder started from. */
    String headHash() {
      return HEX.formatHex(head);
    }

    /** Empties the buffer of lines; the chain head stays. */
    void clear() {
      json.reset();
    }

    /** Appends the line of {@code event} as number {@code seq}, chained to the head, which it becomes. */
    void append(AuditEvent event, long seq) {
      int start = json.length();
      writeEvent(json, event, seq, head);
      digest.update(head);
      digest.update(json.buffer(), start, json.length() - start);
      try {
        digest.digest(next, 0, HASH_BYTES); // digest resets the MessageDigest: no reset() call needed
      } catch (DigestException e) {
        throw new IllegalStateException("SHA-256 refused a 32-byte output buffer", e);
      }
      byte[] hash = next;
      next = head;
      head = hash;
      json.endLine(HASH, hash);
    }

    /** The lines appended since {@link #clear()}: a view of the encoder's buffer, valid until the next append. */
    ByteBuffer lines() {
      return ByteBuffer.wrap(json.buffer(), 0, json.length());
    }

    // Members in key order at every level; null members are left out.
    private static void writeEvent(JsonLineWriter g, AuditEvent e, long seq, byte[] prevHash) {
      g.startObject();
      AuditEvent.Checkpoint c = e.checkpoint();
      if (c != null) {
        g.startObject(CHECKPOINT);
        g.field(DROPPED, c.dropped());
        g.field(HEAD_HASH, c.headHash());
        g.field(HEAD_SEQ, c.headSeq());
        g.field(KEY_ID, c.keyId());
        g.field(SIGNATURE, c.signature());
        g.endObject();
      }
      g.field(COMPONENT, e.component());
      g.field(ID, e.id());
      g.field(KIND, e.kind());
      g.field(LATENCY_US, e.latencyUs());
      AuditEvent.AuditObject o = e.object();
      if (o != null) {
        g.startObject(OBJECT);
        g.field(AFTER, o.after());
        g.field(BEFORE, o.before());
        g.field(DESCRIPTORS, o.descriptors());
        if (o.headers() != null) {
          g.startObject(HEADERS);
          for (var header : o.headers().entrySet()) { // a sorted map (AuditObject copies into a TreeMap)
            g.field(header.getKey(), header.getValue());
          }
          g.endObject();
        }
        g.field(HOST, o.host());
        g.field(METHOD, o.method());
        g.field(PATH, o.path());
        g.field(SERIAL, o.serial());
        g.field(SPIFFE_ID, o.spiffeId());
        g.field(WORKLOAD, o.workload());
        g.endObject();
      }
      g.field(OUTCOME, e.outcome());
      AuditEvent.PolicyRef p = e.policy();
      if (p != null) {
        g.startObject(POLICY);
        g.field(NAME, p.name());
        g.field(REVISION, p.revision());
        g.field(RULE, p.rule());
        g.endObject();
      }
      g.hexField(PREV, prevHash);
      g.field(REASON, e.reason());
      g.field(SEQ, seq);
      AuditEvent.Subject s = e.subject();
      if (s != null) {
        g.startObject(SUBJECT);
        g.field(PRINCIPAL, s.principal());
        g.field(REQUEST_PRINCIPAL, s.requestPrincipal());
        g.field(SOURCE_IP, s.sourceIp());
        g.endObject();
      }
      g.field(TIME, e.time());
      g.field(V, AuditEvent.SCHEMA_VERSION);
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
