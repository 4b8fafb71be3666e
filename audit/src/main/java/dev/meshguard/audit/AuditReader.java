package dev.meshguard.audit;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * Reads events back from segment files, for {@code meshguard audit query} and {@code stats}.
 * Reading does not verify: {@code meshguard audit verify} does. A partial trailing line (a crash
 * mid-write) is skipped.
 */
public final class AuditReader {
  private AuditReader() {}

  /**
   * The segment files named by {@code paths}: a directory stands for the segments in it, a file
   * for itself. In chain order.
   */
  public static List<Path> segments(List<Path> paths) throws IOException {
    List<Path> segments = new ArrayList<>();
    for (Path path : paths) {
      if (Files.isDirectory(path)) {
        segments.addAll(Segments.list(path));
      } else if (Files.isRegularFile(path)) {
        segments.add(path);
      } else {
        throw new IOException(path + ": no such audit directory or segment file");
      }
    }
    return segments;
  }

  /** Calls {@code sink} with every complete event line of {@code segments}, in order. */
  public static void forEach(List<Path> segments, Consumer<StoredEvent> sink) throws IOException {
    for (Path segment : segments) {
      try (BufferedReader reader = Files.newBufferedReader(segment, StandardCharsets.UTF_8)) {
        String line;
        int number = 0;
        while ((line = reader.readLine()) != null) {
          number++;
          if (line.isBlank()) {
            continue;
          }
          JsonNode node;
          try {
            node = EventLine.parse(line.getBytes(StandardCharsets.UTF_8));
          } catch (IOException e) {
            // The partial last line of a crashed writer, or damage that verify reports.
            continue;
          }
          sink.accept(new StoredEvent(segment, node.path("seq").asLong(), toEvent(node), line));
        }
      } catch (UncheckedIOException e) {
        throw e.getCause();
      }
    }
  }

  static AuditEvent toEvent(JsonNode node) {
    JsonNode s = node.path("subject");
    JsonNode o = node.path("object");
    JsonNode p = node.path("policy");
    JsonNode c = node.path("checkpoint");
    Map<String, String> headers = null;
    if (o.path("headers").isObject()) {
      headers = new TreeMap<>();
      Map<String, String> h = headers;
      o.path("headers").properties().forEach(e -> h.put(e.getKey(), e.getValue().asText()));
    }
    return new AuditEvent(
        Instant.parse(node.path("time").asText("1970-01-01T00:00:00Z")),
        node.path("id").asText(),
        node.path("component").asText(),
        node.path("kind").asText(),
        node.path("outcome").asText(),
        s.isObject() ? new AuditEvent.Subject(text(s, "principal"), text(s, "request_principal"), text(s, "source_ip"))
            : null,
        o.isObject() ? new AuditEvent.AuditObject(text(o, "workload"), text(o, "host"), text(o, "method"),
            text(o, "path"), text(o, "descriptors"), text(o, "serial"), text(o, "spiffe_id"), headers,
            value(o, "before"), value(o, "after")) : null,
        p.isObject() ? new AuditEvent.PolicyRef(text(p, "name"), text(p, "rule"), text(p, "revision")) : null,
        text(node, "reason"),
        node.path("latency_us").asLong(),
        c.isObject() ? new AuditEvent.Checkpoint(c.path("head_seq").asLong(), text(c, "head_hash"),
            c.path("dropped").asLong(), text(c, "key_id"), text(c, "signature")) : null);
  }

  /** A structured member as written; null when absent or (from a hand-edited line) not a valid value. */
  private static AuditValue value(JsonNode node, String field) {
    try {
      return AuditValue.of(node.get(field));
    } catch (IllegalArgumentException e) {
      return null; // the query shows the rest of the event; verify judges the bytes, not this
    }
  }

  private static String text(JsonNode node, String field) {
    JsonNode value = node.get(field);
    return value == null || value.isNull() ? null : value.asText();
  }
}
