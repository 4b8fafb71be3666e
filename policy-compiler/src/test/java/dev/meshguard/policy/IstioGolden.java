package dev.meshguard.policy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.TypeRegistry;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * Reads expected Envoy configs written the way istiod's builder tests write them
 * ({@code protomarshal.ToYAML}: the proto3 JSON mapping in YAML) from test resources, so the
 * expectations can be copied from istio/istio testdata and compared as protos.
 */
final class IstioGolden {
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final TypeRegistry TYPES = TypeRegistry.newBuilder()
      .add(io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.getDescriptor())
      .add(io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC.getDescriptor())
      .add(UriTemplateMatchConfig.getDescriptor())
      .build();

  private IstioGolden() {}

  /** Parses YAML text into {@code builder} (proto3 JSON field names, {@code @type} for Any). */
  static <B extends Message.Builder> B parse(String yaml, B builder) {
    try {
      JsonNode tree = YAML.readTree(yaml);
      JsonFormat.parser().usingTypeRegistry(TYPES).merge(tree.toString(), builder);
      return builder;
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalArgumentException("not a " + builder.getDescriptorForType().getFullName() + ": " + e.getMessage(), e);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Reads a test resource under {@code istio-builder/}. */
  static String resource(String name) {
    try (InputStream in = IstioGolden.class.getResourceAsStream("/istio-builder/" + name)) {
      if (in == null) {
        throw new IllegalArgumentException("no test resource istio-builder/" + name);
      }
      return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** JSON of a message, for readable assertion failures. */
  static String json(Message message) {
    try {
      return JsonFormat.printer().usingTypeRegistry(TYPES).print(message);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException(e);
    }
  }
}
