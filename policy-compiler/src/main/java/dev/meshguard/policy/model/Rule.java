package dev.meshguard.policy.model;

import java.util.List;

/**
 * {@code spec.rules[]}: (any {@code from}) AND (any {@code to}) AND (every {@code when}); an
 * empty list means "any". A rule with all three empty ({@code {}}) matches every request.
 *
 * @param position where the rule was written
 */
public record Rule(List<Source> from, List<Operation> to, List<Condition> when, Position position) {
  public Rule {
    from = List.copyOf(from);
    to = List.copyOf(to);
    when = List.copyOf(when);
    position = position == null ? Position.UNKNOWN : position;
  }
}
