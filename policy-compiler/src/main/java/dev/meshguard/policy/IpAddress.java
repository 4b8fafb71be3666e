package dev.meshguard.policy;

import com.google.common.net.InetAddresses;
import java.net.InetAddress;
import java.util.Arrays;
import java.util.Optional;

/**
 * An IPv4 (4 bytes) or IPv6 (16 bytes) address, parsed from a literal without any name lookup.
 * Immutable.
 */
public final class IpAddress {

  private final byte[] bytes;
  private final String text;

  private IpAddress(byte[] bytes, String text) {
    this.bytes = bytes;
    this.text = text;
  }

  /**
   * Parses an IP literal ({@code 10.0.0.1}, {@code ::1}, {@code [::1]}); never resolves names.
   *
   * @return empty when {@code text} is not an IP literal
   */
  public static Optional<IpAddress> parse(String text) {
    if (text == null || text.isEmpty()) {
      return Optional.empty();
    }
    String literal = text.startsWith("[") && text.endsWith("]") ? text.substring(1, text.length() - 1) : text;
    if (!InetAddresses.isInetAddress(literal)) {
      return Optional.empty();
    }
    InetAddress address = InetAddresses.forString(literal);
    return Optional.of(new IpAddress(address.getAddress(), InetAddresses.toAddrString(address)));
  }

  /** 4 or 16 bytes, network order; a copy. */
  public byte[] bytes() {
    return bytes.clone();
  }

  /** 4 for IPv4, 16 for IPv6. */
  public int length() {
    return bytes.length;
  }

  /** The byte at {@code index}, unsigned. */
  public int byteAt(int index) {
    return bytes[index] & 0xff;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof IpAddress other && Arrays.equals(bytes, other.bytes);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(bytes);
  }

  /** The canonical text form ({@code ::1}, not {@code 0:0:0:0:0:0:0:1}). */
  @Override
  public String toString() {
    return text;
  }
}
