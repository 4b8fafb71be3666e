package dev.meshguard.bench;

import java.io.PrintStream;
import java.nio.file.Path;

/**
 * One benchmark suite that {@code bench/run SUITE} can run. A suite measures its own baseline in
 * the same run and reports ratios against it: the machines we run on are noisy and shared, so an
 * absolute figure means little on its own.
 */
interface Suite {

  /** The name {@code bench/run} takes, in kebab-case ({@code audit-write}). */
  String name();

  /** One line for the usage message. */
  String description();

  /**
   * Runs the suite once.
   *
   * @param quick run a short version (seconds, for CI smoke); the figures are then rough
   * @param workDir a directory the suite may write into (its files are deleted when it is done);
   *     disk-bound suites measure the filesystem it is on
   * @param progress where progress and tool output go; the caller keeps stdout for the result
   * @return the figures, printed as the last line of the run
   */
  Figures run(boolean quick, Path workDir, PrintStream progress) throws Exception;
}
