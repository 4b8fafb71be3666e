package dev.meshguard.policy;

import java.util.Arrays;

/**
 * The rule ordinals an index lookup found for one request: a growable int buffer, reused per
 * thread so that evaluation does not allocate. {@link #sortUnique} orders them so the lowest
 * ordinal (the first policy in order) is checked first.
 */
final class Candidates {

  private static final ThreadLocal<Candidates> PER_THREAD = ThreadLocal.withInitial(Candidates::new);

  int[] ordinals = new int[64];
  int size;
  /** The request view of the evaluation holding this buffer. */
  final Req req = new Req();
  private boolean inUse;

  /**
   * This thread's buffer, emptied; a fresh one if it is already in use further up the stack (a
   * {@link CustomDecider} that evaluates another request, say). Give it back with {@link #release}.
   */
  static Candidates acquire() {
    Candidates c = PER_THREAD.get();
    if (c.inUse) {
      c = new Candidates();
    }
    c.inUse = true;
    c.size = 0;
    return c;
  }

  void release() {
    inUse = false;
    req.attrs = null; // do not keep the last request reachable from the thread
    req.http = null;
    req.principal = null;
    req.jwt = null;
  }

  void add(int ordinal) {
    if (size == ordinals.length) {
      ordinals = Arrays.copyOf(ordinals, size * 2);
    }
    ordinals[size++] = ordinal;
  }

  void addAll(int[] more) {
    if (size + more.length > ordinals.length) {
      ordinals = Arrays.copyOf(ordinals, Math.max(ordinals.length * 2, size + more.length));
    }
    System.arraycopy(more, 0, ordinals, size, more.length);
    size += more.length;
  }

  /** Sorts ascending and drops duplicates (a rule found under two keys). */
  void sortUnique() {
    if (size < 2) {
      return;
    }
    Arrays.sort(ordinals, 0, size);
    int w = 1;
    for (int i = 1; i < size; i++) {
      if (ordinals[i] != ordinals[w - 1]) {
        ordinals[w++] = ordinals[i];
      }
    }
    size = w;
  }
}
