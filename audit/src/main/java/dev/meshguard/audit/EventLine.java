package dev.meshguard.audit;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
  static final ObjectMapper JSON = JsonMapper.builder()
      .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
      .addModule(new com.fasterxml.jackson.datatype.jsr310.JavaTimeModule())
      .enable(MapperFeature.SORT_PROPERTIES_ALPHABETICALLY)
      .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
      .build();

  private EventLine() {}

  /** The encoded line (with {@code \n}) and its hash (hex). */
  record Encoded(byte[] bytes, String hash) {}

  static Encoded encode(AuditEvent event, long seq, String prevHash) {
    ObjectNode node = JSON.valueToTree(event);
    node.put("time", formatTime(event.time()));
    node.put("seq", seq);
    node.put("prev", prevHash);
    node.put("v", AuditEvent.SCHEMA_VERSION);
    byte[] canonical;
    try {
      canonical = JSON.writeValueAsBytes(sortedCopy(node));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("an audit event could not be serialised", e);
    }
    String hash = hash(prevHash, canonical, canonical.length);
    byte[] line = new byte[canonical.length - 1 + HASH_SUFFIX_LENGTH + 1];
    System.arraycopy(canonical, 0, line, 0, canonical.length - 1);
    int at = canonical.length - 1;
    System.arraycopy(HASH_MEMBER_PREFIX, 0, line, at, HASH_MEMBER_PREFIX.length);
    at += HASH_MEMBER_PREFIX.length;
    byte[] hex = hash.getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(hex, 0, line, at, hex.length);
    at += hex.length;
    line[at++] = '"';
    line[at++] = '}';
    line[at] = '\n';
    return new Encoded(line, hash);
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

  // Jackson sorts record properties with SORT_PROPERTIES_ALPHABETICALLY but the members added to
  // the tree above land at the end; rebuilding the node in key order keeps the rule simple:
  // sorted at every level.
  private static JsonNode sortedCopy(JsonNode node) {
    if (!node.isObject()) {
      return node;
    }
    ObjectNode sorted = JSON.createObjectNode();
    java.util.List<String> names = new java.util.ArrayList<>();
    node.fieldNames().forEachRemaining(names::add);
    java.util.Collections.sort(names);
    for (String name : names) {
      JsonNode value = node.get(name);
      if (!value.isNull()) {
        sorted.set(name, sortedCopy(value));
      }
    }
    return sorted;
  }
}
