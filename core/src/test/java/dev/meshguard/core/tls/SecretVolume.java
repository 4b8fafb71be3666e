package dev.meshguard.core.tls;

import dev.meshguard.testkit.tls.TestCa;
import dev.meshguard.testkit.tls.TestCert;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * A directory laid out the way the kubelet's atomic writer updates a Secret volume:
 * {@code tls.crt -> ..data/tls.crt}, {@code ..data -> ..<version>}, and an update writes a new
 * version directory, then renames a new {@code ..data} link over the old one. Paths of the files
 * never change; what they resolve to does, in one step.
 */
final class SecretVolume {

  static final String CERT = "tls.crt";
  static final String KEY = "tls.key";
  static final String BUNDLE = "ca.crt";

  private final Path dir;
  private int version;

  SecretVolume(Path dir) {
    this.dir = dir;
  }

  Path cert() {
    return dir.resolve(CERT);
  }

  Path key() {
    return dir.resolve(KEY);
  }

  Path bundle() {
    return dir.resolve(BUNDLE);
  }

  /** Publishes the leaf's chain, its key and a bundle of {@code cas} as one atomic update. */
  void publish(TestCert leaf, TestCa... cas) {
    try {
      Files.createDirectories(dir);
      Path old = Files.isSymbolicLink(dir.resolve("..data")) ? dir.resolve("..data").toRealPath() : null;
      Path next = dir.resolve("..v" + (++version));
      Files.createDirectory(next);
      leaf.writeChain(next.resolve(CERT));
      leaf.writeKey(next.resolve(KEY));
      TestCa.writeBundle(next.resolve(BUNDLE), cas);
      Path link = dir.resolve("..data_tmp");
      Files.createSymbolicLink(link, next.getFileName());
      Files.move(link, dir.resolve("..data"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      for (String name : new String[] {CERT, KEY, BUNDLE}) {
        if (!Files.isSymbolicLink(dir.resolve(name))) {
          Files.createSymbolicLink(dir.resolve(name), Path.of("..data", name));
        }
      }
      if (old != null) {
        try (Stream<Path> files = Files.walk(old)) {
          for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
            Files.delete(p);
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
