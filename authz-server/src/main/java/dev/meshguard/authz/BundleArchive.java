package dev.meshguard.authz;

import dev.meshguard.core.config.ConfigError;
import dev.meshguard.core.config.ConfigException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

/**
 * A policy bundle ({@link dev.meshguard.policy.PolicyBundle}, a directory) as one ZIP file, the
 * form a bundle travels in over HTTPS or as a single file: the bundle directory's files at the
 * root of the archive ({@code manifest.json}, {@code manifest.sig}, {@code policies/...}), as
 * {@code (cd DIR && zip -r ../bundle.zip .)} makes it.
 *
 * <p>The archive is untrusted until the bundle inside verifies, so extraction is budgeted and
 * refuses anything but plain relative paths: no absolute names, no {@code ..}, no backslashes,
 * at most {@link #MAX_ENTRIES} entries and {@link #MAX_BYTES} uncompressed. The signature check
 * itself is {@code PolicyBundle}'s, on the extracted directory.
 */
final class BundleArchive {

  static final int MAX_ENTRIES = 100_000;
  static final long MAX_BYTES = 256L << 20;

  private BundleArchive() {}

  /** Extracts {@code zip} into the empty directory {@code dir}. */
  static void extract(String source, byte[] zip, Path dir) throws ConfigException {
    int entries = 0;
    long total = 0;
    byte[] buffer = new byte[8192];
    try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(zip))) {
      ZipEntry entry;
      while ((entry = in.getNextEntry()) != null) {
        if (++entries > MAX_ENTRIES) {
          throw error(source, "more than " + MAX_ENTRIES + " entries");
        }
        String name = entry.getName();
        String problem = nameProblem(name);
        if (problem != null) {
          throw error(source, "entry \"" + name + "\": " + problem);
        }
        Path target = dir.resolve(name).normalize();
        if (!target.startsWith(dir)) {
          throw error(source, "entry \"" + name + "\" points outside the bundle");
        }
        if (entry.isDirectory()) {
          Files.createDirectories(target);
          continue;
        }
        Files.createDirectories(target.getParent());
        try (OutputStream out = Files.newOutputStream(target)) {
          int n;
          while ((n = in.read(buffer)) > 0) {
            total += n;
            if (total > MAX_BYTES) {
              throw error(source, "more than " + MAX_BYTES + " bytes uncompressed");
            }
            out.write(buffer, 0, n);
          }
        }
      }
    } catch (IOException | IllegalArgumentException e) {
      throw error(source, "not a readable ZIP archive: " + e.getMessage());
    }
    if (entries == 0) {
      throw error(source, "not a ZIP archive, or an empty one");
    }
  }

  private static String nameProblem(String name) {
    if (name.isEmpty() || name.startsWith("/") || name.contains("\\") || name.contains("\0")) {
      return "not a relative path";
    }
    String trimmed = name.startsWith("./") ? name.substring(2) : name;
    for (String segment : trimmed.split("/", -1)) {
      if (segment.equals("..")) {
        return "\"..\" is not allowed";
      }
    }
    return null;
  }

  /** The bundle directory {@code dir} as a ZIP archive, entries in path order with a fixed time (byte-stable). */
  static byte[] write(Path dir) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    List<Path> files;
    try (Stream<Path> walk = Files.walk(dir)) {
      files = walk.filter(Files::isRegularFile).sorted(Comparator.comparing(p -> dir.relativize(p).toString()))
          .toList();
    }
    try (ZipOutputStream out = new ZipOutputStream(bytes)) {
      for (Path file : files) {
        ZipEntry entry = new ZipEntry(dir.relativize(file).toString().replace('\\', '/'));
        entry.setLastModifiedTime(FileTime.fromMillis(0));
        out.putNextEntry(entry);
        Files.copy(file, out);
        out.closeEntry();
      }
    }
    return bytes.toByteArray();
  }

  /** Deletes {@code dir} and everything under it; best effort (a temp directory). */
  static void deleteQuietly(Path dir) {
    if (dir == null) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> {
        try {
          Files.deleteIfExists(p);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    } catch (IOException | UncheckedIOException e) {
      // A leftover temp directory is harmless; the next load uses a new one.
    }
  }

  static ConfigException error(String source, String message) {
    return new ConfigException(new ConfigError(source, 0, 0, "", message));
  }

  /** Reads at most {@code max} bytes of {@code in}; more is an error naming {@code source}. */
  static byte[] readCapped(String source, InputStream in, long max) throws IOException, ConfigException {
    byte[] bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, max + 1));
    if (bytes.length > max) {
      throw error(source, "larger than " + max + " bytes");
    }
    return bytes;
  }
}
