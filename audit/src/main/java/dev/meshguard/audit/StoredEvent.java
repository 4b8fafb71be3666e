package dev.meshguard.audit;

import java.nio.file.Path;

/**
 * An event as read back from a segment: its chain position and the event itself.
 *
 * @param segment the file it was read from
 * @param seq its sequence number
 * @param event the event (masked as written)
 * @param line the line as written, without its newline
 */
public record StoredEvent(Path segment, long seq, AuditEvent event, String line) {}
