package dev.meshguard.policy;

import dev.meshguard.core.config.ConfigException;
import dev.meshguard.core.config.YamlDocuments;
import dev.meshguard.core.config.YamlNode;
import dev.meshguard.core.config.YamlNode.Mapping;
import dev.meshguard.core.config.YamlNode.Mark;
import dev.meshguard.core.config.YamlNode.Null;
import dev.meshguard.policy.model.AuthorizationPolicy;
import dev.meshguard.policy.model.Position;
import dev.meshguard.policy.model.RequestAuthentication;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Reads the resources of one file: YAML (one or many documents) or JSON, Kubernetes {@code List}
 * objects, the envelope of every resource ({@code apiVersion}, {@code kind}, {@code metadata}),
 * and hands policies to the kind's reader. Other kinds are skipped with a note, as
 * {@code istioctl analyze} skips what it does not analyse.
 */
final class ResourceReader {

  static final String ISTIO_GROUP = "security.istio.io";
  static final String MESHGUARD_GROUP = "meshguard.dev";
  static final String AUTHORIZATION_POLICY = "AuthorizationPolicy";
  static final String REQUEST_AUTHENTICATION = "RequestAuthentication";

  /** {@code metadata.namespace} when absent, as kubectl applies it (without {@code -n}). */
  static final String DEFAULT_NAMESPACE = "default";

  static final String DRY_RUN_ANNOTATION = "istio.io/dry-run";

  /** Istio's testing annotation (constants.AlwaysReject): its webhook refuses any resource carrying it. */
  static final String ALWAYS_REJECT_ANNOTATION = "istio.io/alwaysReject";

  private static final Set<String> TOP_LEVEL = Set.of("apiVersion", "kind", "metadata", "spec", "status");

  /** ObjectMeta fields besides name, namespace, annotations and labels: accepted (exports carry them) and ignored. */
  private static final Set<String> METADATA = Set.of("name", "namespace", "annotations", "labels", "generateName",
      "selfLink", "uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp",
      "deletionGracePeriodSeconds", "ownerReferences", "finalizers", "managedFields");

  /** The envelope of a policy resource. */
  record Meta(String apiVersion, String namespace, String name, Map<String, Located<String>> annotations,
      Position position, Mark mark, String path) {

    Map<String, String> annotationValues() {
      Map<String, String> values = new LinkedHashMap<>();
      annotations.forEach((k, v) -> values.put(k, v.value()));
      return values;
    }
  }

  /** Where the policies of a file go, with their envelope (for duplicate detection). */
  interface Sink {
    void authorizationPolicy(AuthorizationPolicy policy, Meta meta);

    void requestAuthentication(RequestAuthentication authentication, Meta meta);
  }

  private final Diagnostics diagnostics;
  private final String source;
  private final Sink sink;

  private ResourceReader(Diagnostics diagnostics, String source, Sink sink) {
    this.diagnostics = diagnostics;
    this.source = source;
    this.sink = sink;
  }

  /**
   * Reads {@code text}: JSON when the name ends in {@code .json}, YAML otherwise (YAML also reads
   * most JSON). A syntax error ends this file only; its error joins the others.
   */
  static void read(String source, String text, Diagnostics diagnostics, Sink sink) {
    new ResourceReader(diagnostics, source, sink).read(text);
  }

  private void read(String text) {
    List<YamlNode> documents;
    try {
      if (source.toLowerCase(Locale.ROOT).endsWith(".json")) {
        documents = List.of(YamlDocuments.readJson(text, source, diagnostics.errorSink()));
      } else {
        documents = YamlDocuments.readYaml(text, source, diagnostics.errorSink());
      }
    } catch (ConfigException e) {
      e.errors().forEach(diagnostics::add);
      return;
    }
    for (YamlNode document : documents) {
      if (!(document instanceof Null)) { // kubectl skips empty documents too
        resource(document, "");
      }
    }
  }

  private void resource(YamlNode node, String path) {
    if (!(node instanceof Mapping)) {
      Fields.mismatch(diagnostics, node, path, "a resource must be a mapping");
      return;
    }
    Fields root = Fields.of(diagnostics, node, path);
    Located<String> apiVersion = root.string("apiVersion");
    Located<String> kind = root.string("kind");
    if (!root.has("apiVersion")) {
      diagnostics.error(root.mark(), root.childPath("apiVersion"), "missing required field \"apiVersion\"");
    }
    if (!root.has("kind")) {
      diagnostics.error(root.mark(), root.childPath("kind"), "missing required field \"kind\"");
    }
    if (apiVersion == null || kind == null) {
      return;
    }
    String group = apiVersion.value().contains("/") ? apiVersion.value().substring(0, apiVersion.value().indexOf('/')) : "";
    String version = apiVersion.value().substring(apiVersion.value().indexOf('/') + 1);
    String k = kind.value();

    if (k.endsWith("List") && root.has("items")) {
      list(root, apiVersion.value(), k);
      return;
    }
    boolean policyKind = k.equals(AUTHORIZATION_POLICY) || k.equals(REQUEST_AUTHENTICATION);
    if (group.equals(ISTIO_GROUP) && policyKind) {
      if (!version.equals("v1") && !version.equals("v1beta1")) {
        diagnostics.error(apiVersion.mark(), apiVersion.path(), "kind " + k + " is not served by apiVersion "
            + Nodes.quote(apiVersion.value()) + "; use security.istio.io/v1 or security.istio.io/v1beta1");
        return;
      }
      policy(root, apiVersion.value(), k, false);
    } else if (group.equals(MESHGUARD_GROUP) && policyKind) {
      if (!version.equals("v1")) {
        diagnostics.error(apiVersion.mark(), apiVersion.path(), "kind " + k + " is not served by apiVersion "
            + Nodes.quote(apiVersion.value()) + "; use meshguard.dev/v1");
      } else if (k.equals(REQUEST_AUTHENTICATION)) {
        diagnostics.error(kind.mark(), kind.path(), "meshguard.dev/v1 defines AuthorizationPolicy only; write "
            + "RequestAuthentication as security.istio.io/v1");
      } else {
        policy(root, apiVersion.value(), k, true);
      }
    } else {
      diagnostics.note(skipNote(root, apiVersion.value(), k));
    }
  }

  private void list(Fields root, String apiVersion, String kind) {
    root.rejectUnknown(Set.of("apiVersion", "kind", "items", "metadata"));
    List<YamlNode> items = root.list("items");
    if (items == null) {
      return;
    }
    for (int i = 0; i < items.size(); i++) {
      YamlNode item = items.get(i);
      String itemPath = Nodes.element(root.childPath("items"), i);
      if (item instanceof Null) {
        diagnostics.error(item.mark(), itemPath, "a " + kind + " item must be a resource, found null");
      } else {
        resource(item, itemPath);
      }
    }
  }

  private String skipNote(Fields root, String apiVersion, String kind) {
    String name = "";
    YamlNode metadata = root.node("metadata");
    if (metadata instanceof Mapping) {
      Diagnostics quiet = new Diagnostics(); // a skipped resource's own mistakes are not ours to report
      Fields meta = Fields.of(quiet, metadata, "metadata");
      Located<String> n = meta.string("name");
      Located<String> ns = meta.string("namespace");
      if (n != null) {
        name = " " + (ns == null ? "" : ns.value() + "/") + n.value();
      }
    }
    return new Position(source, root.mark().line(), root.mark().column()) + ": skipped " + kind + name + " ("
        + apiVersion + "): only AuthorizationPolicy and RequestAuthentication are read";
  }

  private void policy(Fields root, String apiVersion, String kind, boolean meshguard) {
    root.rejectUnknown(TOP_LEVEL);
    Meta meta = meta(root, apiVersion);
    Fields spec = root.mapping("spec");
    int errorsBefore = diagnostics.errorCount();
    if (kind.equals(AUTHORIZATION_POLICY)) {
      AuthorizationPolicy policy = new AuthorizationPolicyReader(diagnostics, meshguard, apiVersion).read(meta, spec, root);
      if (meta != null && diagnostics.errorCount() == errorsBefore) {
        sink.authorizationPolicy(policy, meta);
      }
    } else {
      RequestAuthentication authentication = new RequestAuthenticationReader(diagnostics).read(meta, spec, root);
      if (meta != null && diagnostics.errorCount() == errorsBefore) {
        sink.requestAuthentication(authentication, meta);
      }
    }
  }

  /** The envelope; null (with errors) when the name is missing or invalid. */
  private Meta meta(Fields root, String apiVersion) {
    Fields metadata = root.mapping("metadata");
    if (metadata == null) {
      if (!root.has("metadata")) {
        diagnostics.error(root.mark(), root.childPath("metadata"), "missing required field \"metadata\"");
      }
      return null;
    }
    metadata.rejectUnknown(METADATA);
    Located<String> name = metadata.string("name");
    boolean valid = true;
    if (name == null) {
      if (!metadata.has("name")) {
        diagnostics.error(metadata.mark(), metadata.childPath("name"), metadata.has("generateName")
            ? "missing required field \"name\"; generateName is not supported for policies read from files"
            : "missing required field \"name\"");
      }
      valid = false;
    } else if (!IstioChecks.isDns1123Subdomain(name.value())) {
      diagnostics.error(name.mark(), name.path(), "invalid name " + Nodes.quote(name.value())
          + ": must be a lowercase RFC 1123 subdomain (a-z, 0-9, '-' and '.', at most 253 characters)");
      valid = false;
    }
    Located<String> namespace = metadata.string("namespace");
    if (namespace != null && !IstioChecks.isDns1123Label(namespace.value())) {
      diagnostics.error(namespace.mark(), namespace.path(), "invalid namespace " + Nodes.quote(namespace.value())
          + ": must be a lowercase RFC 1123 label (a-z, 0-9 and '-', at most 63 characters)");
      valid = false;
    }
    if (metadata.has("namespace") && namespace == null) {
      valid = false;
    }
    Map<String, Located<String>> annotations = metadata.stringMap("annotations");
    metadata.stringMap("labels");
    if (annotations == null) {
      annotations = Map.of();
    }
    Located<String> alwaysReject = annotations.get(ALWAYS_REJECT_ANNOTATION);
    if (alwaysReject != null) {
      diagnostics.error(alwaysReject.mark(), alwaysReject.path(),
          Nodes.quote(ALWAYS_REJECT_ANNOTATION) + " annotation found, rejecting");
    }
    if (!valid) {
      return null;
    }
    return new Meta(apiVersion, namespace == null ? DEFAULT_NAMESPACE : namespace.value(), name.value(),
        annotations, new Position(source, root.mark().line(), root.mark().column()), root.mark(), root.path());
  }

  /** Kubernetes' own check of a list's length ({@code maxItems}). */
  static void maxItems(Diagnostics diagnostics, Fields fields, String key, List<?> items, int max) {
    if (items != null && items.size() > max) {
      diagnostics.error(fields.listMark(key), fields.childPath(key),
          "must have at most " + max + " items, found " + items.size());
    }
  }

  /** Applies {@code action} to every element of a list, with its path. */
  static void each(List<YamlNode> items, String path, ElementVisitor visitor) {
    for (int i = 0; i < items.size(); i++) {
      visitor.visit(i, items.get(i), Nodes.element(path, i));
    }
  }

  /** One element of a list, with its index and path. */
  @FunctionalInterface
  interface ElementVisitor {
    void visit(int index, YamlNode node, String path);
  }

  static <T> List<T> nonNull(List<T> list) {
    return list == null ? List.of() : list;
  }

  static List<String> values(List<Located<String>> located) {
    if (located == null) {
      return List.of();
    }
    List<String> values = new ArrayList<>(located.size());
    for (Located<String> value : located) {
      values.add(value.value());
    }
    return values;
  }

  static void forEach(List<Located<String>> located, Consumer<Located<String>> action) {
    if (located != null) {
      located.forEach(action);
    }
  }
}
