package dev.meshguard.core.tls;

import static org.assertj.core.api.Assertions.assertThat;

import dev.meshguard.core.config.ConfigException;
import dev.meshguard.testkit.tls.TestCa;
import dev.meshguard.testkit.tls.TestCert;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One read of the TLS files is one consistent set, even when a Secret volume update lands between
 * the reads of the certificate and the key (the hook runs right there).
 */
class FileContentsTest {

  private static final String SERVER_ID = "spiffe://cluster.local/ns/meshguard/sa/server";

  private static TestCa ca;

  @TempDir Path dir;
  private SecretVolume volume;
  private TlsOptions options;

  @BeforeAll
  static void createTheCa() {
    ca = TestCa.create("cluster.local");
  }

  @BeforeEach
  void publishTheFirstCertificate() {
    volume = new SecretVolume(dir.resolve("secret"));
    volume.publish(ca.leaf(SERVER_ID).issue(), ca);
    options = TlsOptions.builder().certFile(volume.cert()).keyFile(volume.key()).trustBundleFile(volume.bundle())
        .reloadInterval(Duration.ZERO).build();
  }

  @Test
  void anUpdateBetweenTheCertificateAndTheKeyIsReadAgainAsOneSet() throws Exception {
    TestCert second = ca.leaf(SERVER_ID).issue();
    AtomicInteger reads = new AtomicInteger();
    FileContents files = FileContents.read(options, () -> {
      if (reads.getAndIncrement() == 0) {
        volume.publish(second, ca); // the first read got the old certificate; its key read gets the new key
      }
    });

    assertThat(reads).as("a mixed read, then two that agree").hasValue(3);
    assertThat(files.certificate()).isEqualTo(Files.readAllBytes(volume.cert()));
    assertThat(files.key()).isEqualTo(Files.readAllBytes(volume.key()));
    assertThat(files.bundle()).isEqualTo(Files.readAllBytes(volume.bundle()));
  }

  @Test
  void unchangedFilesAreReadTwice() throws Exception {
    AtomicInteger reads = new AtomicInteger();
    FileContents files = FileContents.read(options, reads::incrementAndGet);

    assertThat(reads).hasValue(2);
    assertThat(files.key()).isEqualTo(Files.readAllBytes(volume.key()));
  }

  @Test
  void filesThatKeepChangingAreReadABoundedNumberOfTimes() throws ConfigException, IOException {
    AtomicInteger reads = new AtomicInteger();
    FileContents files = FileContents.read(options, () -> {
      reads.incrementAndGet();
      volume.publish(ca.leaf(SERVER_ID).issue(), ca);
    });

    assertThat(reads).hasValue(FileContents.MAX_READS);
    assertThat(files.certificate()).as("the last read's certificate: the one before the last update")
        .isNotEqualTo(Files.readAllBytes(volume.cert()));
  }
}
