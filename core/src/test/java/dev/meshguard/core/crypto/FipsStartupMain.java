package dev.meshguard.core.crypto;

import dev.meshguard.core.config.ConfigException;
import org.bouncycastle.crypto.CryptoServicesRegistrar;

/** A fresh JVM's main() for {@link FipsStartupIT}: the start-up order is what is tested. */
public final class FipsStartupMain {

  private FipsStartupMain() {}

  public static void main(String[] args) {
    switch (args[0]) {
      case "request-first" -> Crypto.requestApprovedOnlyMode();
      case "request-too-late" -> {
        // Any Bouncy Castle class loading reads the property; setting it afterwards is too late.
        CryptoServicesRegistrar.isInApprovedOnlyMode();
        Crypto.requestApprovedOnlyMode();
      }
      case "no-request" -> { }
      default -> throw new IllegalArgumentException(args[0]);
    }
    try {
      Crypto crypto = Crypto.install(CryptoMode.FIPS);
      System.out.println("STARTED " + crypto + " approvedOnly=" + CryptoServicesRegistrar.isInApprovedOnlyMode());
    } catch (ConfigException e) {
      System.out.println("REFUSED " + e.getMessage());
      System.exit(2);
    }
  }
}
