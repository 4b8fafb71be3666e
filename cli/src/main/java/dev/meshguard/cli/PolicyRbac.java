package dev.meshguard.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.util.JsonFormat;
import dev.meshguard.policy.MeshConfig;
import dev.meshguard.policy.PolicySet;
import dev.meshguard.policy.RbacEmitter;
import dev.meshguard.policy.Workload;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import java.io.IOException;
import java.io.PrintWriter;

/**
 * {@code meshguard policy compile --emit rbac}: the Envoy RBAC filters istiod would push to one
 * workload, from {@link RbacEmitter}, as one JSON object
 * {@code {"workload":...,"http_filters":[...],"network_filters":[...]}} whose filters are in Envoy's
 * own protobuf JSON form (proto field names, {@code typed_config} with its {@code @type}), ready
 * to paste into a listener's filter chains (HTTP filters before the router; network filters before
 * the TCP proxy). An empty list means no policy applies to the workload: no filter is needed.
 */
final class PolicyRbac {
  private static final ObjectMapper JSON = JsonMapper.builder().build();
  private static final JsonFormat.Printer PRINTER = JsonFormat.printer()
      .usingTypeRegistry(JsonFormat.TypeRegistry.newBuilder()
          .add(RBAC.getDescriptor())
          .add(io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC.getDescriptor())
          .build())
      .preservingProtoFieldNames()
      .omittingInsignificantWhitespace();

  private PolicyRbac() {}

  static int print(PrintWriter out, PrintWriter err, PolicySet set, MeshConfig mesh, Workload workload) {
    if (workload == null) {
      err.println("meshguard: --emit rbac needs --workload NS[:k=v,...]: the RBAC filters are per workload");
      err.flush();
      return CliErrors.CONFIG;
    }
    ObjectNode root = JsonNodeFactory.instance.objectNode();
    // The workload as --workload takes it: NAMESPACE:k1=v1,k2=v2 (labels sorted).
    root.put("workload", workload.namespace() + (workload.labels().isEmpty() ? "" : ":" + new java.util.TreeMap<>(
        workload.labels()).entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
        .collect(java.util.stream.Collectors.joining(","))));
    ArrayNode http = root.putArray("http_filters");
    for (HttpFilter filter : RbacEmitter.httpFilters(set, mesh, workload)) {
      http.add(json(filter));
    }
    ArrayNode network = root.putArray("network_filters");
    for (Filter filter : RbacEmitter.networkFilters(set, mesh, workload)) {
      network.add(json(filter));
    }
    try {
      out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root));
    } catch (IOException e) {
      throw new IllegalStateException("a JSON tree always serialises", e);
    }
    out.flush();
    return 0;
  }

  private static JsonNode json(MessageOrBuilder message) {
    try {
      return JSON.readTree(PRINTER.print(message));
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("the RBAC types are in the registry", e);
    } catch (IOException e) {
      throw new IllegalStateException("JsonFormat printed invalid JSON", e);
    }
  }
}
