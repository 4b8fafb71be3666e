package dev.meshguard.policy;

import java.util.Optional;

/**
 * An IPv4 or IPv6 CIDR range as Envoy's {@code CidrRange} holds it: a bare address is a /32 or
 * /128 (istio/istio {@code util.AddrStrToCidrRange}); host bits are ignored, as Envoy masks them.
 * An address of the other family never matches.
 */
record Cidr(IpAddress address, int prefixLength, String text) {

  /** Parses {@code 10.0.0.0/8}, {@code 10.0.0.1}, {@code 2001:db8::/32}; empty when malformed. */
  static Optional<Cidr> parse(String text) {
    if (text.isEmpty()) {
      return Optional.empty();
    }
    int slash = text.indexOf('/');
    Optional<IpAddress> address = IpAddress.parse(slash < 0 ? text : text.substring(0, slash));
    if (address.isEmpty()) {
      return Optional.empty();
    }
    int maxBits = address.get().length() * 8;
    if (slash < 0) {
      return Optional.of(new Cidr(address.get(), maxBits, text));
    }
    String bits = text.substring(slash + 1);
    if (bits.isEmpty() || bits.length() > 3 || (bits.length() > 1 && bits.charAt(0) == '0')) {
      return Optional.empty(); // Go's netip.ParsePrefix: decimal, no leading zeros
    }
    for (int i = 0; i < bits.length(); i++) {
      if (bits.charAt(i) < '0' || bits.charAt(i) > '9') {
        return Optional.empty();
      }
    }
    int prefix = Integer.parseInt(bits);
    if (prefix > maxBits) {
      return Optional.empty();
    }
    return Optional.of(new Cidr(address.get(), prefix, text));
  }

  boolean contains(IpAddress ip) {
    if (ip == null || ip.length() != address.length()) {
      return false;
    }
    int fullBytes = prefixLength / 8;
    for (int i = 0; i < fullBytes; i++) {
      if (ip.byteAt(i) != address.byteAt(i)) {
        return false;
      }
    }
    int remainingBits = prefixLength % 8;
    if (remainingBits == 0) {
      return true;
    }
    int mask = (0xff << (8 - remainingBits)) & 0xff;
    return (ip.byteAt(fullBytes) & mask) == (address.byteAt(fullBytes) & mask);
  }

  /** Bit {@code index} (0 = most significant) of the range's address. */
  boolean bit(int index) {
    return ((address.byteAt(index / 8) >> (7 - index % 8)) & 1) == 1;
  }

  @Override
  public String toString() {
    return text;
  }
}
