package dev.meshguard.core.spiffe;

/** A string that is not a valid SPIFFE ID; the message names the input and the rule it breaks. */
public final class InvalidSpiffeIdException extends Exception {
  private static final long serialVersionUID = 1L;

  private final String input;
  private final String rule;

  public InvalidSpiffeIdException(String input, String rule) {
    super("invalid SPIFFE ID \"" + abbreviate(input) + "\": " + rule);
    this.input = input;
    this.rule = rule;
  }

  /** The rejected input. */
  public String input() {
    return input;
  }

  /** The rule broken, without the input, e.g. {@code trust domain is missing}. */
  public String rule() {
    return rule;
  }

  // An over-long ID would otherwise fill a log line with 2 KiB of noise.
  private static String abbreviate(String input) {
    return input.length() <= 100 ? input : input.substring(0, 100) + "...(" + input.length() + " chars)";
  }
}
