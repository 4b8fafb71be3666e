package dev.meshguard.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.policy.CustomDecider;
import dev.meshguard.policy.Decision;
import dev.meshguard.policy.DryRunResult;
import dev.meshguard.policy.MeshConfig;
import dev.meshguard.policy.Outcome;
import dev.meshguard.policy.Workload;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the evaluating {@code meshguard policy} commands share: reading a {@code CheckRequest} in
 * protobuf JSON form, the mesh config, {@code --provider-decision}, {@code --workload}, and the one
 * JSON shape a decision is printed in.
 */
final class PolicyRequests {

  /** Requests larger than this are refused: Envoy's own default limit on a request's headers is 60 KiB. */
  static final int MAX_REQUEST_BYTES = 4 << 20;

  private static final ObjectMapper JSON = JsonMapper.builder().build();
  private static final JsonFormat.Parser PARSER = JsonFormat.parser();

  private PolicyRequests() {}

  /** A request that cannot be decided: the message says what is wrong with it. */
  static final class BadRequest extends Exception {
    private static final long serialVersionUID = 1L;

    BadRequest(String message) {
      super(message);
    }
  }

  /** Parses one {@code CheckRequest} in protobuf JSON form (proto or JSON field names, as JsonFormat accepts). */
  static CheckRequest parse(String json) throws BadRequest {
    if (json.isBlank()) {
      throw new BadRequest("empty request: expected one Envoy CheckRequest in protobuf JSON form");
    }
    CheckRequest.Builder builder = CheckRequest.newBuilder();
    try {
      PARSER.merge(json, builder);
    } catch (InvalidProtocolBufferException | RuntimeException e) {
      // JsonFormat reports some malformed input (deep nesting, bad numbers) as runtime exceptions.
      throw new BadRequest("not an Envoy CheckRequest in protobuf JSON form: " + e.getMessage());
    }
    return builder.build();
  }

  /** The text of {@code --request FILE}, or of standard input for {@code -}. */
  static String read(String file) throws BadRequest {
    try {
      if (file.equals("-")) {
        return readLimited(System.in, "standard input");
      }
      try (InputStream in = Files.newInputStream(Path.of(file))) {
        return readLimited(in, file);
      }
    } catch (NoSuchFileException e) {
      throw new BadRequest(file + ": no such file");
    } catch (IOException e) {
      throw new BadRequest(file + ": cannot read: " + e.getMessage());
    }
  }

  private static String readLimited(InputStream in, String name) throws IOException, BadRequest {
    byte[] bytes = in.readNBytes(MAX_REQUEST_BYTES + 1);
    if (bytes.length > MAX_REQUEST_BYTES) {
      throw new BadRequest(name + ": larger than " + MAX_REQUEST_BYTES + " bytes");
    }
    return new String(bytes, StandardCharsets.UTF_8);
  }

  /** {@code --mesh-config FILE}, or Istio's defaults. */
  static MeshConfig meshConfig(Path file) throws ConfigException {
    return file == null ? MeshConfig.DEFAULT : MeshConfig.load(file);
  }

  /**
   * {@code --provider-decision NAME=DENY}: CUSTOM providers cannot be called offline, so each one
   * allows unless named here with DENY.
   */
  static CustomDecider decider(Map<String, Outcome> decisions) {
    if (decisions == null || decisions.isEmpty()) {
      return CustomDecider.ALLOW_ALL;
    }
    Map<String, Outcome> copy = Map.copyOf(decisions);
    return provider -> copy.getOrDefault(provider, Outcome.ALLOW) == Outcome.ALLOW;
  }

  /**
   * {@code NAMESPACE} or {@code NAMESPACE:k1=v1,k2=v2}, the workload whose policies are picked.
   *
   * @throws IllegalArgumentException with a message for the user
   */
  static Workload workload(String text) {
    int colon = text.indexOf(':');
    String namespace = colon < 0 ? text : text.substring(0, colon);
    if (namespace.isBlank()) {
      throw new IllegalArgumentException("expected NAMESPACE or NAMESPACE:k1=v1,k2=v2 but found \"" + text + "\"");
    }
    Map<String, String> labels = new TreeMap<>();
    if (colon >= 0 && !text.substring(colon + 1).isBlank()) {
      for (String pair : text.substring(colon + 1).split(",", -1)) {
        int eq = pair.indexOf('=');
        if (eq <= 0) {
          throw new IllegalArgumentException("expected k=v for a label but found \"" + pair + "\" in \"" + text + "\"");
        }
        if (labels.put(pair.substring(0, eq).strip(), pair.substring(eq + 1).strip()) != null) {
          throw new IllegalArgumentException("label \"" + pair.substring(0, eq).strip() + "\" given twice in \""
              + text + "\"");
        }
      }
    }
    return new Workload(namespace.strip(), labels);
  }

  /**
   * The decision as the one JSON object {@code meshguard policy check} prints (snake_case; every
   * member present; {@code policy}, {@code action} and {@code rule} null when no policy decided):
   * {@code {"decision":"ALLOW"|"DENY","policy":"ns/name"|null,"action":"ALLOW"|"DENY"|"CUSTOM"|null,
   * "rule":N|null,"audit":["ns/name",...],"dry_run":[{"policy":"ns/name","decision":"ALLOW"|"DENY"}],
   * "custom":["provider",...],"reason":"..."}}.
   */
  static String decisionJson(Decision d) {
    ObjectNode node = JsonNodeFactory.instance.objectNode();
    node.put("decision", d.outcome().name());
    if (d.policy() == null) {
      node.putNull("policy");
    } else {
      node.put("policy", d.policy());
    }
    if (d.action() == null) {
      node.putNull("action");
    } else {
      node.put("action", d.action().name());
    }
    if (d.policy() == null || d.rule() < 0) {
      node.putNull("rule");
    } else {
      node.put("rule", d.rule());
    }
    ArrayNode audit = node.putArray("audit");
    d.audit().forEach(audit::add);
    ArrayNode dryRun = node.putArray("dry_run");
    for (DryRunResult r : d.dryRun()) {
      dryRun.addObject().put("policy", r.policy()).put("decision", r.decision().name());
    }
    ArrayNode custom = node.putArray("custom");
    d.custom().forEach(custom::add);
    node.put("reason", d.reason());
    return write(node);
  }

  /** {@code {"error":"..."}}: a line of {@code --requests} output that could not be decided. */
  static String errorJson(String message) {
    return write(JsonNodeFactory.instance.objectNode().put("error", message));
  }

  private static String write(ObjectNode node) {
    try {
      return JSON.writeValueAsString(node);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a JSON tree always serialises", e);
    }
  }

  /** Parses {@code ALLOW} / {@code DENY} case-insensitively. */
  static Outcome outcome(String text) {
    try {
      return Outcome.valueOf(text.strip().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("expected ALLOW or DENY but found \"" + text + "\"");
    }
  }
}
