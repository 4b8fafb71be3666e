package dev.meshguard.testkit.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class RedisBinaryTest {
  @TempDir Path root;

  @Test
  void takesTheFirstExecutableFileOnPathAndSkipsWhatCannotRun() throws IOException {
    Path empty = Files.createDirectory(root.resolve("empty"));
    Path notExecutable = Files.createDirectory(root.resolve("not-executable"));
    Files.writeString(notExecutable.resolve("redis-server"), "#!/bin/sh\n");
    Path directoryOfThatName =
        Files.createDirectories(root.resolve("dir/redis-server")).getParent();
    Path first = script(Files.createDirectory(root.resolve("first")));
    Path second = script(Files.createDirectory(root.resolve("second")));

    String path = join(empty, notExecutable, directoryOfThatName, first, second);

    assertThat(RedisBinary.findOnPath(path)).contains(first.resolve("redis-server"));
  }

  @Test
  void keepsASymbolicLinkAsTheNameDecidesWhatTheBinaryIs() throws IOException {
    Path tools = Files.createDirectory(root.resolve("tools"));
    Path checker = tools.resolve("redis-check-rdb");
    Files.move(script(tools).resolve("redis-server"), checker);
    Path bin = Files.createDirectory(root.resolve("bin"));
    Files.createSymbolicLink(bin.resolve("redis-server"), checker);

    assertThat(RedisBinary.findOnPath(bin.toString())).contains(bin.resolve("redis-server"));
  }

  @Test
  void ignoresEmptyEntriesWhichWouldMeanTheWorkingDirectory() throws IOException {
    Path bin = script(Files.createDirectory(root.resolve("bin")));

    assertThat(RedisBinary.findOnPath(File.pathSeparator + File.pathSeparator + bin))
        .contains(bin.resolve("redis-server"));
  }

  @Test
  void findsNothingWhenNoEntryHasIt() throws IOException {
    Path empty = Files.createDirectory(root.resolve("empty"));

    assertThat(RedisBinary.findOnPath(join(empty, root.resolve("missing")))).isEmpty();
    assertThat(RedisBinary.findOnPath("")).isEmpty();
    assertThat(RedisBinary.findOnPath(null)).isEmpty();
  }

  static Stream<Arguments> platforms() {
    return Stream.of(
        Arguments.of("Linux", "amd64", Optional.of("redis-server-6.2.6-v5-linux-amd64")),
        Arguments.of("Linux", "x86_64", Optional.of("redis-server-6.2.6-v5-linux-amd64")),
        Arguments.of("Linux", "aarch64", Optional.of("redis-server-6.2.7-linux-arm64")),
        Arguments.of("Linux", "arm64", Optional.of("redis-server-6.2.7-linux-arm64")),
        Arguments.of("Linux", "riscv64", Optional.empty()),
        Arguments.of("Mac OS X", "aarch64", Optional.empty()),
        Arguments.of("Windows 11", "amd64", Optional.empty()),
        Arguments.of(null, "amd64", Optional.empty()));
  }

  @ParameterizedTest
  @MethodSource("platforms")
  void picksTheEmbeddedBuildForThePlatform(String os, String arch, Optional<String> resource) {
    assertThat(RedisBinary.embeddedResource(os, arch)).isEqualTo(resource);
  }

  @ParameterizedTest
  @MethodSource("platforms")
  void everyEmbeddedBuildItNamesIsInTheJar(String os, String arch, Optional<String> resource) {
    resource.ifPresent(
        name -> assertThat(RedisBinaryTest.class.getClassLoader().getResource(name)).isNotNull());
  }

  @Test
  void saysHowToGetOneWhenThereIsNone() throws IOException {
    Path empty = Files.createDirectory(root.resolve("empty"));

    assertThatThrownBy(() -> RedisBinary.locate(empty.toString(), "Linux", "riscv64"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage(
            "No usable redis-server for the Redis test fixtures: no executable redis-server on"
                + " PATH; the embedded-redis jar has no build for Linux/riscv64. Install one on"
                + " PATH (Debian/Ubuntu: apt-get install redis-server) or put the Maven artifact"
                + " com.github.codemonstur:embedded-redis (Linux x86-64 and aarch64 builds) on the"
                + " test class path.");
  }

  /** Writes an executable {@code redis-server} script into {@code directory}. */
  static Path script(Path directory) throws IOException {
    return script(directory, "#!/bin/sh\necho 'Redis server v=7.0.15 sha=00000000:0 bits=64'\n");
  }

  static Path script(Path directory, String content) throws IOException {
    Path file = directory.resolve("redis-server");
    Files.writeString(file, content);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
    return directory;
  }

  private static String join(Path... directories) {
    return String.join(File.pathSeparator, Stream.of(directories).map(Path::toString).toList());
  }
}
