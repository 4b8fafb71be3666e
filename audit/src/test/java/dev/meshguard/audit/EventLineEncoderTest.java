package dev.meshguard.audit;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class EventLineEncoderTest {

  /**
   * Regression: the encoder's buffer starts at 8 KiB and grows on demand; a line whose closing
   * {@code "}\n"} fell exactly on the old end overflowed it, and the writer dropped the whole batch
   * (found by AuditChainProperties once surefire ran *Properties classes). Sweeping the reason's
   * length across the boundary puts the line's end on every byte around it.
   */
  @Test
  void linesEndingAtTheBufferBoundaryAreWrittenWhole() {
    for (int reasonLength = 7_700; reasonLength <= 8_300; reasonLength++) {
      EventLine.Encoder encoder = new EventLine.Encoder("0".repeat(64));
      AuditEvent event = new AuditEvent(Instant.EPOCH, "0190b8a0-0000-7000-8000-000000000000", "authz", "decision",
          "deny", null, null, null, "r".repeat(reasonLength), 1);
      encoder.append(event, 1);
      ByteBuffer lines = encoder.lines();
      String text = StandardCharsets.UTF_8.decode(lines).toString();
      assertThat(text).as("reason of %d bytes", reasonLength).endsWith("\"}\n").contains("r".repeat(reasonLength));
      assertThat(text.indexOf('\n')).isEqualTo(text.length() - 1);
    }
  }
}
