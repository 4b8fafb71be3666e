package dev.meshguard.policy;

import com.google.protobuf.ListValue;
import com.google.protobuf.NullValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.cel.common.CelAbstractSyntaxTree;
import dev.cel.common.CelIssue;
import dev.cel.common.CelOptions;
import dev.cel.common.CelValidationResult;
import dev.cel.common.types.CelType;
import dev.cel.common.types.ListType;
import dev.cel.common.types.MapType;
import dev.cel.common.types.SimpleType;
import dev.cel.compiler.CelCompiler;
import dev.cel.compiler.CelCompilerBuilder;
import dev.cel.compiler.CelCompilerFactory;
import dev.cel.runtime.CelRuntime;
import dev.cel.runtime.CelRuntimeFactory;
import dev.cel.runtime.CelVariableResolver;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * meshguard.dev/v1 {@code when[].cel} conditions: compiled and type-checked once (the result
 * must be a {@code bool}), evaluated per request against the variables in {@link #VARIABLES}.
 *
 * <p>Cost limits, because policy authors are not always the people who run the server: an
 * expression has at most {@value #MAX_CODE_POINTS} code points, {@value #MAX_NODES} syntax nodes
 * and {@value #MAX_DEPTH} levels of nesting; a comprehension ({@code all}, {@code exists},
 * {@code map}, {@code filter}) runs at most {@value #MAX_ITERATIONS} iterations; a regex
 * ({@code matches}) compiles to at most {@value #MAX_REGEX_PROGRAM} RE2 instructions. With no
 * loops beyond comprehensions, these bound the work per evaluation.
 */
final class CelConditions {

  static final int MAX_CODE_POINTS = 2048;
  static final int MAX_NODES = 256;
  static final int MAX_DEPTH = 32;
  static final int MAX_ITERATIONS = 1000;
  static final int MAX_REGEX_PROGRAM = 1000;

  /** The variables a condition can use, with their CEL types; the README documents the same. */
  static final Map<String, CelType> VARIABLES = variables();

  private static final CelOptions OPTIONS = CelOptions.current()
      .maxExpressionCodePointSize(MAX_CODE_POINTS)
      .maxParseExpressionNodeCount(MAX_NODES)
      .maxParseRecursionDepth(MAX_DEPTH)
      .comprehensionMaxIterations(MAX_ITERATIONS)
      .maxRegexProgramSize(MAX_REGEX_PROGRAM)
      .build();

  private static final CelCompiler COMPILER = compiler();
  private static final CelRuntime RUNTIME = CelRuntimeFactory.standardCelRuntimeBuilder().setOptions(OPTIONS).build();

  private CelConditions() {}

  private static Map<String, CelType> variables() {
    Map<String, CelType> v = new LinkedHashMap<>();
    CelType string = SimpleType.STRING;
    v.put("request.http", SimpleType.BOOL);
    v.put("request.method", string);
    v.put("request.host", string);
    v.put("request.path", string);
    v.put("request.url_path", string);
    v.put("request.headers", MapType.create(string, string));
    v.put("request.auth.principal", string);
    v.put("request.auth.audiences", ListType.create(string));
    v.put("request.auth.presenter", string);
    v.put("request.auth.claims", MapType.create(string, SimpleType.DYN));
    v.put("source.principal", string);
    v.put("source.namespace", string);
    v.put("source.ip", string);
    v.put("remote.ip", string);
    v.put("destination.ip", string);
    v.put("destination.port", SimpleType.INT);
    v.put("connection.sni", string);
    return Map.copyOf(v);
  }

  private static CelCompiler compiler() {
    CelCompilerBuilder b = CelCompilerFactory.standardCelCompilerBuilder()
        .setOptions(OPTIONS)
        .setStandardMacros(dev.cel.parser.CelStandardMacro.STANDARD_MACROS)
        .setResultType(SimpleType.BOOL);
    VARIABLES.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> b.addVar(e.getKey(), e.getValue()));
    return b.build();
  }

  /** Compiles and type-checks {@code expression}: a condition, or the errors as one message. */
  static Compiled compile(String expression) {
    try {
      CelValidationResult result = COMPILER.compile(expression);
      if (result.hasError()) {
        List<String> messages = new ArrayList<>();
        for (CelIssue issue : result.getErrors()) {
          var location = issue.getSourceLocation();
          messages.add(location.getLine() > 0
              ? "CEL " + location.getLine() + ":" + (location.getColumn() + 1) + ": " + issue.getMessage()
              : "CEL: " + issue.getMessage());
        }
        return new Compiled(null, String.join("; ", messages));
      }
      CelAbstractSyntaxTree ast = result.getAst();
      return new Compiled(new Condition(expression, RUNTIME.createProgram(ast)), null);
    } catch (Exception e) {
      return new Compiled(null, "CEL: " + e.getMessage());
    }
  }

  /** Either a condition or an error message. */
  record Compiled(Condition condition, String error) {}

  /** A checked CEL program; thread-safe. */
  static final class Condition {
    final String expression;
    private final CelRuntime.Program program;

    Condition(String expression, CelRuntime.Program program) {
      this.expression = expression;
      this.program = program;
    }

    /** True or false, or null when evaluation failed. Never throws. */
    Boolean evaluate(Req r) {
      try {
        Object result = program.eval(resolver(r));
        return result instanceof Boolean b ? b : null;
      } catch (Exception | StackOverflowError e) {
        return null;
      }
    }

    /** The error evaluation raised, or null: for {@code explain}. */
    String evaluationError(Req r) {
      try {
        Object result = program.eval(resolver(r));
        return result instanceof Boolean ? null : "result is not a bool: " + result;
      } catch (Exception | StackOverflowError e) {
        return String.valueOf(e.getMessage());
      }
    }
  }

  static CelVariableResolver resolver(Req r) {
    return name -> Optional.ofNullable(value(r, name));
  }

  private static Object value(Req r, String name) {
    HttpAttributes http = r.http;
    return switch (name) {
      case "request.http" -> http != null;
      case "request.method" -> http == null ? "" : http.method();
      case "request.host" -> http == null ? "" : http.host();
      case "request.path" -> http == null ? "" : http.path();
      case "request.url_path" -> http == null ? "" : http.path().substring(0, r.pathEnd);
      case "request.headers" -> http == null ? Map.of() : http.headers();
      case "request.auth.principal" -> {
        String iss = r.stringClaim("iss");
        String sub = r.stringClaim("sub");
        yield iss == null || sub == null ? "" : iss + "/" + sub;
      }
      case "request.auth.audiences" -> stringList(r.jwt == null ? null : r.jwt.getFieldsMap().get("aud"));
      case "request.auth.presenter" -> orEmpty(r.stringClaim("azp"));
      case "request.auth.claims" -> r.jwt == null ? Map.of() : toJava(r.jwt);
      case "source.principal" -> orEmpty(r.principal);
      case "source.namespace" -> orEmpty(namespaceOf(r.principal));
      case "source.ip" -> text(r.attrs.sourceIp());
      case "remote.ip" -> text(r.attrs.remoteIp());
      case "destination.ip" -> text(r.attrs.destinationIp());
      case "destination.port" -> (long) r.attrs.destinationPort();
      case "connection.sni" -> r.sni();
      default -> null;
    };
  }

  private static String orEmpty(String s) {
    return s == null ? "" : s;
  }

  private static String text(IpAddress ip) {
    return ip == null ? "" : ip.toString();
  }

  /** The namespace of a SPIFFE ID ({@code spiffe://td/ns/N/sa/SA}), or null. */
  static String namespaceOf(String principal) {
    if (principal == null) {
      return null;
    }
    int at = principal.indexOf("/ns/");
    if (at < 0) {
      return null;
    }
    int start = at + 4;
    int end = principal.indexOf('/', start);
    return end < 0 ? principal.substring(start) : principal.substring(start, end);
  }

  private static List<String> stringList(Value v) {
    if (v == null) {
      return List.of();
    }
    return switch (v.getKindCase()) {
      case STRING_VALUE -> List.of(v.getStringValue());
      case LIST_VALUE -> v.getListValue().getValuesList().stream()
          .filter(e -> e.getKindCase() == Value.KindCase.STRING_VALUE)
          .map(Value::getStringValue)
          .toList();
      default -> List.of();
    };
  }

  /** A JSON value as CEL's Java runtime represents it: strings, doubles, booleans, lists, maps, null. */
  static Map<String, Object> toJava(Struct struct) {
    Map<String, Object> map = new LinkedHashMap<>();
    struct.getFieldsMap().forEach((k, v) -> map.put(k, toJava(v)));
    return map;
  }

  private static Object toJava(Value v) {
    return switch (v.getKindCase()) {
      case STRING_VALUE -> v.getStringValue();
      case NUMBER_VALUE -> v.getNumberValue();
      case BOOL_VALUE -> v.getBoolValue();
      case STRUCT_VALUE -> toJava(v.getStructValue());
      case LIST_VALUE -> toJava(v.getListValue());
      default -> NullValue.NULL_VALUE;
    };
  }

  private static List<Object> toJava(ListValue list) {
    List<Object> out = new ArrayList<>(list.getValuesCount());
    for (Value v : list.getValuesList()) {
      out.add(toJava(v));
    }
    return out;
  }
}
