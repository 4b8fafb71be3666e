/**
 * Sinks that ship the audit log to where operators read it: an HTTP collector ({@link
 * dev.meshguard.audit.sink.HttpSink}) and standard output for container log collectors ({@link
 * dev.meshguard.audit.sink.StdoutSink}).
 *
 * <p>Sinks never sit between a producer and the log. They read what is already on disk with a
 * {@link dev.meshguard.audit.sink.SegmentTailer}, so the local segments are the buffer: while a
 * collector is down nothing is lost and nothing is held in memory beyond one batch, and producers
 * are never slowed by a sink. A sink ships complete lines only (ending in {@code \n}), byte for
 * byte as the writer wrote them, so every shipped event still carries its {@code seq},
 * {@code prev} and {@code hash} and a receiver can verify the chain.
 */
package dev.meshguard.audit.sink;
