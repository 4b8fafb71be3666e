package dev.meshguard.core.admin;

/**
 * A part of the process that the admin server reports on. Implementations answer from their
 * current immutable snapshot: {@link #status()} is called on admin threads at any time and must
 * not block.
 */
@FunctionalInterface
public interface Component {
  ComponentStatus status();
}
