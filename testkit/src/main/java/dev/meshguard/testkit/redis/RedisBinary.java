package dev.meshguard.testkit.redis;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A {@code redis-server} executable that works on this machine.
 *
 * <p>{@link #get()} takes the one on {@code PATH} (Debian's {@code redis-server} package, Redis
 * 7.0) if there is one that runs, else the one shipped inside the {@code
 * com.github.codemonstur:embedded-redis} jar (Redis 6.2), extracted once per JVM. Fixtures must
 * therefore use only what both versions support: no {@code CLUSTER ADDSLOTSRANGE}, no 7.0-only
 * configuration directives.
 *
 * @param executable the file to run
 * @param origin where it was found
 * @param version the version it reports for {@code --version}, e.g. {@code 6.2.11}
 */
public record RedisBinary(Path executable, Origin origin, String version) {
  /** The executable's name on {@code PATH}. */
  public static final String EXECUTABLE_NAME = "redis-server";

  /** Where a binary was found. */
  public enum Origin {
    /** A directory on the {@code PATH} environment variable. */
    PATH,
    /** Extracted from the embedded-redis jar on the class path. */
    EMBEDDED
  }

  /** The embedded-redis jar's resources, by {@code os.arch}; only Linux builds are used. */
  private static final Map<String, String> EMBEDDED_LINUX_BUILDS =
      Map.of(
          "amd64", "redis-server-6.2.6-v5-linux-amd64",
          "x86_64", "redis-server-6.2.6-v5-linux-amd64",
          "aarch64", "redis-server-6.2.7-linux-arm64",
          "arm64", "redis-server-6.2.7-linux-arm64");

  private static final Pattern VERSION = Pattern.compile("\\bv=(\\S+)");
  private static final long VERSION_TIMEOUT_SECONDS = 10;

  private static RedisBinary found; // guarded by RedisBinary.class
  private static final Map<String, Path> EXTRACTED =
      new HashMap<>(); // guarded by RedisBinary.class

  public RedisBinary {
    Objects.requireNonNull(executable, "executable");
    Objects.requireNonNull(origin, "origin");
    Objects.requireNonNull(version, "version");
  }

  /**
   * Returns the binary for this JVM, locating it on the first call.
   *
   * @throws IllegalStateException when no working {@code redis-server} is on {@code PATH} or in the
   *     class path; the message says how to get one
   */
  public static synchronized RedisBinary get() {
    if (found == null) {
      found =
          locate(
              System.getenv("PATH"), System.getProperty("os.name"), System.getProperty("os.arch"));
    }
    return found;
  }

  /** Locates a working binary; the arguments are the environment, so tests can fake it. */
  static synchronized RedisBinary locate(String pathVariable, String osName, String osArch) {
    List<String> tried = new ArrayList<>();
    Optional<Path> onPath = findOnPath(pathVariable);
    if (onPath.isPresent()) {
      try {
        return new RedisBinary(onPath.get(), Origin.PATH, versionOf(onPath.get()));
      } catch (IOException e) {
        tried.add(onPath.get() + " from PATH does not run: " + e.getMessage());
      }
    } else {
      tried.add("no executable " + EXECUTABLE_NAME + " on PATH");
    }
    Optional<String> resource = embeddedResource(osName, osArch);
    if (resource.isEmpty()) {
      tried.add("the embedded-redis jar has no build for " + osName + "/" + osArch);
    } else if (RedisBinary.class.getClassLoader().getResource(resource.get()) == null) {
      tried.add("no " + resource.get() + " on the class path (the embedded-redis jar is missing)");
    } else {
      try {
        Path extracted = extract(resource.get());
        return new RedisBinary(extracted, Origin.EMBEDDED, versionOf(extracted));
      } catch (IOException e) {
        tried.add(resource.get() + " from the embedded-redis jar does not run: " + e.getMessage());
      }
    }
    throw new IllegalStateException(
        "No usable "
            + EXECUTABLE_NAME
            + " for the Redis test fixtures: "
            + String.join("; ", tried)
            + ". Install one on PATH (Debian/Ubuntu: apt-get install redis-server) or put the Maven"
            + " artifact com.github.codemonstur:embedded-redis (Linux x86-64 and aarch64 builds) on"
            + " the test class path.");
  }

  /**
   * The first regular, executable {@value #EXECUTABLE_NAME} in the directories of {@code PATH}.
   *
   * <p>A symbolic link is returned as the link, not resolved: Debian's {@code redis-server} links
   * to {@code redis-check-rdb}, and the binary chooses what to be from the name it is run by.
   */
  static Optional<Path> findOnPath(String pathVariable) {
    if (pathVariable == null) {
      return Optional.empty();
    }
    for (String directory : pathVariable.split(Pattern.quote(File.pathSeparator))) {
      // An empty entry means the working directory; a test fixture should not depend on it.
      if (directory.isBlank()) {
        continue;
      }
      Path candidate;
      try {
        candidate = Path.of(directory, EXECUTABLE_NAME);
      } catch (InvalidPathException e) {
        continue;
      }
      if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
        return Optional.of(candidate);
      }
    }
    return Optional.empty();
  }

  /** The embedded-redis resource that runs on this OS and architecture, if it ships one. */
  static Optional<String> embeddedResource(String osName, String osArch) {
    if (osName == null || osArch == null || !osName.toLowerCase(Locale.ROOT).startsWith("linux")) {
      return Optional.empty();
    }
    return Optional.ofNullable(EMBEDDED_LINUX_BUILDS.get(osArch.toLowerCase(Locale.ROOT)));
  }

  /** Copies a resource to a fresh directory under {@code java.io.tmpdir}, once per JVM. */
  private static Path extract(String resource) throws IOException {
    Path extracted = EXTRACTED.get(resource);
    if (extracted != null) {
      return extracted;
    }
    Path directory = Files.createTempDirectory("meshguard-redis-bin-");
    directory.toFile().deleteOnExit();
    Path executable = directory.resolve(EXECUTABLE_NAME);
    try (InputStream in = RedisBinary.class.getClassLoader().getResourceAsStream(resource)) {
      if (in == null) {
        throw new IOException("resource " + resource + " disappeared");
      }
      Files.copy(in, executable, StandardCopyOption.REPLACE_EXISTING);
    }
    // Registered after the directory, so it is deleted first: deleteOnExit runs in reverse order.
    executable.toFile().deleteOnExit();
    Files.setPosixFilePermissions(executable, PosixFilePermissions.fromString("rwx------"));
    EXTRACTED.put(resource, executable);
    return executable;
  }

  /** Runs {@code redis-server --version}: it proves the binary runs here and names its version. */
  static String versionOf(Path executable) throws IOException {
    Process process =
        new ProcessBuilder(executable.toString(), "--version").redirectErrorStream(true).start();
    try {
      if (!process.waitFor(VERSION_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        throw new IOException("--version did not finish within " + VERSION_TIMEOUT_SECONDS + " s");
      }
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      Matcher version = VERSION.matcher(output);
      if (process.exitValue() != 0 || !version.find()) {
        throw new IOException(
            "--version exited with " + process.exitValue() + " and printed: " + output.strip());
      }
      return version.group(1);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while running --version", e);
    } finally {
      process.destroyForcibly();
    }
  }
}
