package dev.meshguard.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.SocketTimeoutException;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * {@code meshguard quota --admin URL} takes plain {@code http} only: the admin server never serves
 * TLS, so an {@code https} URL is a mistake (exit 2) and is refused before any connection, instead
 * of being handed to the JDK's default TLS outside the crypto mode's provider.
 */
class QuotaAdminUrlTest {

  @Test
  void anHttpsAdminUrlIsRefusedBeforeAnyConnection() throws Exception {
    // A listener on the URL's port: had the CLI tried TLS there, the connection would be queued.
    try (ServerSocket listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      String url = "https://127.0.0.1:" + listener.getLocalPort();
      StringWriter err = new StringWriter();
      CommandLine cli = Main.commandLine();
      cli.setOut(new PrintWriter(new StringWriter()));
      cli.setErr(new PrintWriter(err));

      assertThat(cli.execute("quota", "list", "--admin", url)).isEqualTo(CliErrors.CONFIG);

      assertThat(err.toString().strip()).isEqualTo("meshguard quota: --admin " + url + ": the admin port serves plain"
          + " HTTP only (on loopback, for local tools), never TLS; give http://HOST:PORT, or reach the quota API over"
          + " TLS with --grpc HOST:PORT --tls-ca FILE");
      // connect() completes in the kernel's backlog before the CLI would return, so a short wait is enough.
      listener.setSoTimeout(200);
      assertThatThrownBy(listener::accept).as("no connection was made").isInstanceOf(SocketTimeoutException.class);
    }
  }

  @Test
  void adminUrlsOtherThanHttpAreLocalMistakes() throws Exception {
    assertThat(QuotaCommand.adminUri("http://127.0.0.1:9090").getPort()).isEqualTo(9090);
    assertThat(QuotaCommand.adminUri("HTTP://[::1]:9090/").getHost()).isEqualTo("[::1]");
    for (String bad : new String[] {"HTTPS://127.0.0.1:9090", "https://localhost"}) {
      assertThatThrownBy(() -> QuotaCommand.adminUri(bad)).isInstanceOf(QuotaCommand.LocalError.class)
          .hasMessageContaining("never TLS");
    }
    for (String bad : new String[] {"127.0.0.1:9090", "ftp://127.0.0.1:9090", "http:///v1", "http://a b"}) {
      assertThatThrownBy(() -> QuotaCommand.adminUri(bad)).as(bad).isInstanceOf(QuotaCommand.LocalError.class)
          .hasMessageStartingWith("--admin: ");
    }
  }
}
