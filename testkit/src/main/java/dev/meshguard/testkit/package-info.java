/**
 * Test helpers that any meshguard module may use in test scope: {@link dev.meshguard.testkit.Await}
 * to wait for something outside the test thread without sleeping, {@link
 * dev.meshguard.testkit.FreePorts} for ports of servers that tests start, and real Redis fixtures
 * in {@link dev.meshguard.testkit.redis}. This module depends on no meshguard module.
 */
package dev.meshguard.testkit;
