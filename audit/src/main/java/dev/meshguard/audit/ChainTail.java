package dev.meshguard.audit;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * The end of the chain found on disk at start-up, after crash recovery: a {@code kill -9} in the
 * middle of a write leaves at most one partial trailing line, which {@link #recover} cuts off so
 * the writer can continue the chain from the last complete line.
 *
 * @param segment the segment to append to
 * @param lastSeq the sequence number of the last complete event (0 for a new log)
 * @param lastHash its hash (the genesis value for a new log)
 * @param truncatedBytes how many bytes of a partial line were cut
 */
record ChainTail(Path segment, long lastSeq, String lastHash, long truncatedBytes) {

  static ChainTail recover(Path directory) throws IOException {
    List<Path> segments = Segments.list(directory);
    if (segments.isEmpty()) {
      return new ChainTail(directory.resolve(Segments.name(1)), 0, EventLine.GENESIS_PREV, 0);
    }
    Path last = segments.get(segments.size() - 1);
    byte[] bytes = Files.readAllBytes(last);
    int end = bytes.length;
    while (end > 0 && bytes[end - 1] != '\n') {
      end--;
    }
    long truncated = bytes.length - end;
    if (truncated > 0) {
      try (FileChannel channel = FileChannel.open(last, StandardOpenOption.WRITE)) {
        channel.truncate(end);
        channel.force(true);
      }
    }
    if (end == 0) {
      // The newest segment holds no complete line: continue from the segment before it.
      ChainTail previous = segments.size() > 1 ? lastLineOf(segments.get(segments.size() - 2)) : null;
      long lastSeq = previous == null ? Segments.firstSeq(last) - 1 : previous.lastSeq();
      String lastHash = previous == null ? EventLine.GENESIS_PREV : previous.lastHash();
      return new ChainTail(last, lastSeq, lastHash, truncated);
    }
    ChainTail tail = lastLineOf(bytes, end, last);
    return new ChainTail(last, tail.lastSeq(), tail.lastHash(), truncated);
  }

  private static ChainTail lastLineOf(Path segment) throws IOException {
    byte[] bytes = Files.readAllBytes(segment);
    return lastLineOf(bytes, bytes.length, segment);
  }

  private static ChainTail lastLineOf(byte[] bytes, int end, Path segment) throws IOException {
    int start = end - 1;
    while (start > 0 && bytes[start - 1] != '\n') {
      start--;
    }
    byte[] line = java.util.Arrays.copyOfRange(bytes, start, end - 1);
    var node = EventLine.parse(line);
    if (node == null || !node.has("seq")) {
      throw new IOException("the last line of " + segment + " is not an audit event: "
          + new String(line, StandardCharsets.UTF_8));
    }
    return new ChainTail(segment, node.get("seq").asLong(), EventLine.writtenHash(line), 0);
  }
}
