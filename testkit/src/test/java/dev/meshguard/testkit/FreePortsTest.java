package dev.meshguard.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class FreePortsTest {
  @Test
  void aPortIsFreeOnLoopbackAndOutsideTheEphemeralRange() {
    int port = FreePorts.port();

    assertThat(port).isBetween(FreePorts.LOWEST, FreePorts.HIGHEST);
    assertThat(FreePorts.isFree(port)).isTrue();
    assertNotEphemeral(port);
  }

  @Test
  void aPairedPortAndItsPartnerAreBothFreeAndInRange() {
    for (int port : FreePorts.pairedPorts(6, 10_000)) {
      assertThat(port + 10_000).isLessThanOrEqualTo(65_535);
      assertThat(FreePorts.isFree(port)).as("port %d", port).isTrue();
      assertThat(FreePorts.isFree(port + 10_000)).as("bus port %d", port + 10_000).isTrue();
      assertNotEphemeral(port);
      assertNotEphemeral(port + 10_000);
    }
  }

  @Test
  void noPortIsHandedOutTwiceNorAsPartOfAnotherPair() {
    List<Integer> handedOut = new ArrayList<>(FreePorts.ports(50));
    for (int port : FreePorts.pairedPorts(50, 10_000)) {
      handedOut.add(port);
      handedOut.add(port + 10_000);
    }
    for (int i = 0; i < 50; i++) {
      handedOut.add(FreePorts.port());
    }

    Set<Integer> distinct = new HashSet<>(handedOut);
    assertThat(distinct).hasSameSizeAs(handedOut);
  }

  @Test
  void aPortWithAListenerIsNotFree() throws IOException {
    try (ServerSocket onLoopback = new ServerSocket();
        ServerSocket onAnyAddress = new ServerSocket()) {
      onLoopback.bind(new InetSocketAddress(FreePorts.LOOPBACK, 0));
      onAnyAddress.bind(new InetSocketAddress(0));

      assertThat(FreePorts.isFree(onLoopback.getLocalPort())).isFalse();
      assertThat(FreePorts.isFree(onAnyAddress.getLocalPort())).isFalse();
    }
  }

  @Test
  void readsTheKernelsEphemeralRange() throws IOException {
    Path setting = Path.of("/proc/sys/net/ipv4/ip_local_port_range");
    // The Redis fixtures run Linux binaries, so the test kit only runs on Linux: no skipping here.
    assertThat(setting).as("the kernel's ephemeral port range (meshguard's tests run on Linux)").exists();
    List<String> expected = List.of(Files.readAllLines(setting).getFirst().trim().split("\\s+"));

    int[] range = FreePorts.ephemeralRange();

    assertThat(range).isNotNull();
    assertThat(List.of(Integer.toString(range[0]), Integer.toString(range[1]))).isEqualTo(expected);
  }

  @Test
  void rejectsImpossibleRequests() {
    assertThatThrownBy(() -> FreePorts.ports(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("count must be positive: 0");
    assertThatThrownBy(() -> FreePorts.pairedPort(-1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("offset out of range: -1");
    assertThatThrownBy(() -> FreePorts.pairedPort(60_000))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("offset out of range: 60000");
  }

  private static void assertNotEphemeral(int port) {
    int[] range = FreePorts.ephemeralRange();
    if (range != null) {
      assertThat(port < range[0] || port > range[1])
          .as("port %d outside %d-%d", port, range[0], range[1])
          .isTrue();
    }
  }
}
