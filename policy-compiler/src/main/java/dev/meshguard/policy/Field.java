package dev.meshguard.policy;

import java.util.List;
import java.util.function.Function;

/**
 * One field of a source or operation ({@code paths} with {@code notPaths}), or one {@code when}
 * condition: true when some positive term matches (or there are none) and no negative term does
 * (istio {@code model.go}: {@code values} become an OR, {@code notValues} a NOT over an OR).
 * Because a negative term is false on a missing attribute, the {@code not} forms match requests
 * that lack the attribute.
 */
final class Field {

  final String label;
  final String positiveName;
  final String negativeName;
  final List<String> positiveValues;
  final List<String> negativeValues;
  final Term[] positive;
  final Term[] negative;
  /** An attribute meshguard does not evaluate ({@code experimental.envoy.filters.*}): never true. */
  final boolean never;
  private final Function<Req, String> display;

  Field(String label, String positiveName, String negativeName, List<String> positiveValues,
      List<String> negativeValues, Term[] positive, Term[] negative, boolean never, Function<Req, String> display) {
    this.label = label;
    this.positiveName = positiveName;
    this.negativeName = negativeName;
    this.positiveValues = List.copyOf(positiveValues);
    this.negativeValues = List.copyOf(negativeValues);
    this.positive = positive;
    this.negative = negative;
    this.never = never;
    this.display = display;
  }

  boolean test(Req r) {
    if (never) {
      return false;
    }
    if (positive.length > 0 && !any(positive, r)) {
      return false;
    }
    return negative.length == 0 || !any(negative, r);
  }

  private static boolean any(Term[] terms, Req r) {
    for (Term t : terms) {
      if (t.test(r)) {
        return true;
      }
    }
    return false;
  }

  /** Why this field holds for {@code r} (call only when {@link #test} is true). */
  String describeMatch(Req r) {
    String value = display.apply(r);
    if (positive.length > 0) {
      String s = label + " " + value + " matched " + positiveName + " " + positiveValues;
      return negative.length == 0 ? s : s + " and none of " + negativeName + " " + negativeValues;
    }
    return label + " " + value + " matched none of " + negativeName + " " + negativeValues;
  }

  /** Why this field fails for {@code r} (call only when {@link #test} is false). */
  String describeFailure(Req r) {
    if (never) {
      return label + " is not evaluated by meshguard (experimental.envoy.filters.* never matches)";
    }
    String value = display.apply(r);
    if (positive.length > 0 && !any(positive, r)) {
      return label + " " + value + " matched none of " + positiveName + " " + positiveValues;
    }
    return label + " " + value + " matched " + negativeName + " " + negativeValues;
  }
}
