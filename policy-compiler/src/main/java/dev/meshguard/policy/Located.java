package dev.meshguard.policy;

import dev.meshguard.core.config.YamlNode.Mark;

/**
 * A value read from a document with where it was written, so that a check made after reading
 * (an IP, a port, a path template) can still name its line, column and key path.
 *
 * @param path the key path, e.g. {@code spec.rules[0].from[1].source.ipBlocks[2]}
 */
record Located<T>(T value, Mark mark, String path) {}
