package dev.meshguard.testkit.redis;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Kills the redis-server processes this JVM started and did not stop, when the JVM exits: a test
 * that fails before its fixture's clean-up, or a fixture that is never closed, must not leave
 * servers holding ports on the machine. It cannot help when the JVM itself is killed with SIGKILL.
 */
final class ProcessReaper {
  private static final Set<Process> LIVE = ConcurrentHashMap.newKeySet();

  static {
    Runtime.getRuntime()
        .addShutdownHook(new Thread(ProcessReaper::killAll, "meshguard-redis-reaper"));
  }

  private ProcessReaper() {}

  static void register(Process process) {
    LIVE.add(process);
  }

  static void unregister(Process process) {
    LIVE.remove(process);
  }

  /** SIGKILL to the process and its children: a master may have forked to send a snapshot. */
  static void killTree(Process process) {
    process.descendants().forEach(ProcessHandle::destroyForcibly);
    process.destroyForcibly();
  }

  private static void killAll() {
    LIVE.forEach(ProcessReaper::killTree);
  }
}
