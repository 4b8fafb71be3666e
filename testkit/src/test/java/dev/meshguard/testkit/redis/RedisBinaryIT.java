package dev.meshguard.testkit.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.meshguard.testkit.redis.RedisBinary.Origin;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs the binaries it finds: a fake one on PATH, and the real one. */
class RedisBinaryIT {
  @TempDir Path root;

  @Test
  void prefersTheOneOnPathAndAsksItsVersion() throws IOException {
    Path bin = RedisBinaryTest.script(Files.createDirectory(root.resolve("bin")));

    RedisBinary binary = RedisBinary.locate(bin.toString(), "Linux", "amd64");

    assertThat(binary)
        .isEqualTo(new RedisBinary(bin.resolve("redis-server"), Origin.PATH, "7.0.15"));
  }

  @Test
  void fallsBackToTheEmbeddedOneWhenTheOneOnPathDoesNotRun() throws IOException {
    Path bin =
        RedisBinaryTest.script(
            Files.createDirectory(root.resolve("bin")), "#!/bin/sh\necho broken >&2\nexit 1\n");

    RedisBinary binary = RedisBinary.locate(bin.toString(), "Linux", System.getProperty("os.arch"));

    assertThat(binary.origin()).isEqualTo(Origin.EMBEDDED);
    assertThat(binary.version()).startsWith("6.2.");
    assertThat(Files.isExecutable(binary.executable())).isTrue();
    assertThat(binary.executable()).startsWith(Path.of(System.getProperty("java.io.tmpdir")));
  }

  @Test
  void extractsTheEmbeddedOneOncePerJvm() {
    String arch = System.getProperty("os.arch");

    assertThat(RedisBinary.locate("", "Linux", arch).executable())
        .isEqualTo(RedisBinary.locate("", "Linux", arch).executable());
  }

  @Test
  void findsAWorkingOneOnThisMachine() {
    RedisBinary binary = RedisBinary.get();

    assertThat(binary.version()).matches("[67]\\..*");
    assertThat(RedisBinary.get()).isSameAs(binary);
  }
}
