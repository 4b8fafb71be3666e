package dev.meshguard.audit.sink;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Objects;
import java.util.OptionalLong;

/**
 * A sink's acknowledged position, {@code {"id":"<event id>","seq":<n>}} and a newline, in a small
 * file next to the segments. Replaced atomically: the new content goes to a temporary file that is
 * fsynced, renamed over the old one, and the directory is fsynced, so after a crash the file holds
 * either the old or the new position, never a torn one.
 */
final class CursorFile {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path path;
  private final Path temporary;

  CursorFile(Path path) {
    this.path = Objects.requireNonNull(path, "path");
    this.temporary = path.resolveSibling(path.getFileName() + ".tmp");
  }

  Path path() {
    return path;
  }

  /**
   * The acknowledged seq; empty when the file does not exist (nothing acknowledged yet).
   *
   * @throws IOException when the file exists but does not hold a position: guessing would either
   *     lose events or resend the whole log, so the operator decides (delete the file to resend)
   */
  OptionalLong read() throws IOException {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(path);
    } catch (NoSuchFileException e) {
      return OptionalLong.empty();
    }
    JsonNode node;
    try {
      node = JSON.readTree(bytes);
    } catch (IOException e) {
      node = null;
    }
    if (node == null || !node.path("seq").isIntegralNumber() || !node.path("seq").canConvertToLong()
        || node.get("seq").asLong() < 0) {
      throw new IOException("the cursor file " + path + " does not hold a position ({\"seq\":<n>,...});"
          + " delete it to ship the whole log again");
    }
    return OptionalLong.of(node.get("seq").asLong());
  }

  /** Records {@code seq} (the event {@code id}) as acknowledged, durably. */
  void write(long seq, String id) throws IOException {
    ObjectNode node = JSON.createObjectNode();
    node.put("id", id);
    node.put("seq", seq);
    byte[] bytes = (JSON.writeValueAsString(node) + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8);
    try (FileChannel out = FileChannel.open(temporary, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      ByteBuffer buffer = ByteBuffer.wrap(bytes);
      while (buffer.hasRemaining()) {
        out.write(buffer);
      }
      out.force(true);
    }
    Files.move(temporary, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    fsyncDirectory(path.getParent());
  }

  private static void fsyncDirectory(Path directory) throws IOException {
    if (directory == null) {
      return;
    }
    try (FileChannel dir = FileChannel.open(directory, StandardOpenOption.READ)) {
      dir.force(true);
    } catch (IOException e) {
      // Some platforms (Windows) cannot open a directory for fsync; Linux and macOS can, and there
      // the rename is only durable once the directory is synced, so a failure there is real.
      if (!System.getProperty("os.name", "").startsWith("Windows")) {
        throw e;
      }
    }
  }
}
