package dev.meshguard.policy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.meshguard.policy.ConformanceTable.Case;
import java.util.Set;
import java.util.TreeSet;

/**
 * Which source fields, operation fields and condition keys a conformance case's policies use, read
 * from the raw YAML (not through meshguard's parser), so that a {@code covers} tag can be checked
 * against what the row really exercises. Condition keys are grouped the way the table names them:
 * {@code request.headers[x]} is {@code request.headers}, {@code request.auth.claims[a][b]} is also
 * {@code request.auth.claims[nested]}, and a claim whose value in the request's JWT payload is a
 * list is also {@code request.auth.claims[list]}.
 */
final class UsedFields {

  private static final String JWT_FILTER = "envoy.filters.http.jwt_authn";

  private UsedFields() {}

  static Set<String> of(Case c) {
    Set<String> used = new TreeSet<>();
    JsonNode payload = c.request().path("attributes").path("metadataContext").path("filterMetadata")
        .path(JWT_FILTER).path("payload");
    for (JsonNode doc : c.policyDocuments()) {
      for (JsonNode rule : doc.path("spec").path("rules")) {
        for (JsonNode from : rule.path("from")) {
          addNonEmpty(used, from.path("source"));
        }
        for (JsonNode to : rule.path("to")) {
          addNonEmpty(used, to.path("operation"));
        }
        for (JsonNode when : rule.path("when")) {
          addKey(used, when.path("key").asText(), payload);
        }
      }
    }
    return used;
  }

  private static void addNonEmpty(Set<String> used, JsonNode fields) {
    fields.properties().forEach(e -> {
      if (e.getValue().isArray() && !e.getValue().isEmpty()) {
        used.add(e.getKey());
      }
    });
  }

  private static void addKey(Set<String> used, String key, JsonNode payload) {
    if (key.startsWith("request.headers[")) {
      used.add("request.headers");
    } else if (key.startsWith("experimental.envoy.filters.")) {
      used.add("experimental.envoy.filters");
    } else if (key.startsWith("request.auth.claims[")) {
      used.add("request.auth.claims");
      String[] path = key.substring("request.auth.claims[".length(), key.length() - 1).split("\\]\\[");
      if (path.length > 1) {
        used.add("request.auth.claims[nested]");
      }
      JsonNode value = payload;
      for (String segment : path) {
        value = value.path(segment);
      }
      if (value.isArray()) {
        used.add("request.auth.claims[list]");
      }
    } else {
      used.add(key);
    }
  }
}
