package dev.meshguard.policy;

/** One {@code from[].source} or {@code to[].operation}: every field must hold. */
record Clause(String label, Field[] fields) {

  boolean test(Req r) {
    for (Field f : fields) {
      if (!f.test(r)) {
        return false;
      }
    }
    return true;
  }

  /** The first field that fails, or null. */
  Field firstFailure(Req r) {
    for (Field f : fields) {
      if (!f.test(r)) {
        return f;
      }
    }
    return null;
  }
}
