package dev.meshguard.authz;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.meshguard.policy.RequestAttributes;

/**
 * Where a configured response header or dynamic metadata value comes from, parsed once from the
 * config ({@code principal}, {@code namespace}, {@code policy}, {@code decision_id},
 * {@code source_ip}, {@code header:NAME}, {@code claim:a.b}, {@code literal:TEXT}).
 */
sealed interface ValueSource {

  /** The value for one decided request, or null when the request has none. Never throws. */
  String value(RequestAttributes attributes, String policy, String decisionId);

  record Principal() implements ValueSource {
    @Override
    public String value(RequestAttributes a, String policy, String decisionId) {
      return a.sourcePrincipal();
    }
  }

  record Namespace() implements ValueSource {
    @Override
    public String value(RequestAttributes a, String policy, String decisionId) {
      return a.workload().namespace();
    }
  }

  record Policy() implements ValueSource {
    @Override
    public String value(RequestAttributes a, String policy, String decisionId) {
      return policy;
    }
  }

  record DecisionId() implements ValueSource {
    @Override
    public String value(RequestAttributes a, String policy, String decisionId) {
      return decisionId;
    }
  }

  record SourceIp() implements ValueSource {
    @Override
    public String value(RequestAttributes a, String policy, String decisionId) {
      return a.sourceIp() == null ? null : a.sourceIp().toString();
    }
  }

  /** A request header (lower-case name; Envoy joins repeats with a comma). */
  record Header(String name) implements ValueSource {
    @Override
    public String value(RequestAttributes a, String policy, String decisionId) {
      return a.http() == null ? null : a.http().headers().get(name);
    }
  }

  /** A claim of the verified JWT payload; a dotted path walks nested objects. Lists are comma-joined. */
  record Claim(String[] path) implements ValueSource {
    @Override
    public String value(RequestAttributes a, String policy, String decisionId) {
      Struct current = a.jwtPayload();
      if (current == null) {
        return null;
      }
      for (int i = 0; i < path.length - 1; i++) {
        Value v = current.getFieldsMap().get(path[i]);
        if (v == null || v.getKindCase() != Value.KindCase.STRUCT_VALUE) {
          return null;
        }
        current = v.getStructValue();
      }
      return text(current.getFieldsMap().get(path[path.length - 1]));
    }

    private static String text(Value v) {
      if (v == null) {
        return null;
      }
      return switch (v.getKindCase()) {
        case STRING_VALUE -> v.getStringValue();
        case BOOL_VALUE -> Boolean.toString(v.getBoolValue());
        case NUMBER_VALUE -> {
          double d = v.getNumberValue();
          yield d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d);
        }
        case LIST_VALUE -> {
          StringBuilder sb = new StringBuilder();
          for (Value item : v.getListValue().getValuesList()) {
            String t = text(item);
            if (t != null) {
              sb.append(sb.isEmpty() ? "" : ",").append(t);
            }
          }
          yield sb.toString();
        }
        default -> null;
      };
    }
  }

  record Literal(String text) implements ValueSource {
    @Override
    public String value(RequestAttributes a, String policy, String decisionId) {
      return text;
    }
  }

  /** @throws IllegalArgumentException quoting {@code spec} when it names no source */
  static ValueSource parse(String spec) {
    if (spec == null) {
      throw new IllegalArgumentException("a value source must not be null");
    }
    switch (spec) {
      case "principal":
        return new Principal();
      case "namespace":
        return new Namespace();
      case "policy":
        return new Policy();
      case "decision_id":
        return new DecisionId();
      case "source_ip":
        return new SourceIp();
      default:
        break;
    }
    if (spec.startsWith("header:") && spec.length() > "header:".length()) {
      return new Header(spec.substring("header:".length()).toLowerCase(java.util.Locale.ROOT));
    }
    if (spec.startsWith("claim:") && spec.length() > "claim:".length()) {
      String[] path = spec.substring("claim:".length()).split("\\.", -1);
      for (String part : path) {
        if (part.isEmpty()) {
          throw new IllegalArgumentException("value source \"" + spec + "\": empty claim path segment");
        }
      }
      return new Claim(path);
    }
    if (spec.startsWith("literal:")) {
      return new Literal(spec.substring("literal:".length()));
    }
    throw new IllegalArgumentException("value source \"" + spec + "\" is not one of principal, namespace, policy, "
        + "decision_id, source_ip, header:NAME, claim:PATH, literal:TEXT");
  }
}
