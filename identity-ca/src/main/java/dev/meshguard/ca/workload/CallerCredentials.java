package dev.meshguard.ca.workload;

/**
 * What the kernel says about the process at the other end of a Unix socket connection
 * (SO_PEERCRED, taken when it connected): user, primary group and process id. Unsigned 32-bit
 * ids are held in longs, so {@code 4294967295} stays what {@code id -u} prints.
 */
record CallerCredentials(long uid, long gid, long pid) {

  static CallerCredentials of(int uid, int gid, int pid) {
    return new CallerCredentials(Integer.toUnsignedLong(uid), Integer.toUnsignedLong(gid), Integer.toUnsignedLong(pid));
  }

  @Override
  public String toString() {
    return "uid " + uid + ", gid " + gid + ", pid " + pid;
  }
}
