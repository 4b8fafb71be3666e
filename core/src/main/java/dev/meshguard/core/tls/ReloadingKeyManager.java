package dev.meshguard.core.tls;

import dev.meshguard.core.tls.ReloadingMaterial.Generation;
import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * A key manager that delegates to the current generation's key manager. Aliases it hands out
 * are {@code <generation>:<delegate alias>}, so that the chain and key fetched by alias later in
 * the same handshake come from the generation the alias was chosen in, even if a reload
 * happened in between (see {@link ReloadingMaterial}).
 */
final class ReloadingKeyManager extends X509ExtendedKeyManager {

  private static final char SEPARATOR = ':';

  private final ReloadingMaterial material;

  ReloadingKeyManager(ReloadingMaterial material) {
    this.material = material;
  }

  @Override
  public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
    Generation g = material.current();
    X509ExtendedKeyManager km = g.material().keyManager();
    return km == null ? null : qualify(g, km.chooseEngineServerAlias(keyType, issuers, engine));
  }

  @Override
  public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
    Generation g = material.current();
    X509ExtendedKeyManager km = g.material().keyManager();
    return km == null ? null : qualify(g, km.chooseServerAlias(keyType, issuers, socket));
  }

  @Override
  public String chooseEngineClientAlias(String[] keyTypes, Principal[] issuers, SSLEngine engine) {
    Generation g = material.current();
    X509ExtendedKeyManager km = g.material().keyManager();
    return km == null ? null : qualify(g, km.chooseEngineClientAlias(keyTypes, issuers, engine));
  }

  @Override
  public String chooseClientAlias(String[] keyTypes, Principal[] issuers, Socket socket) {
    Generation g = material.current();
    X509ExtendedKeyManager km = g.material().keyManager();
    return km == null ? null : qualify(g, km.chooseClientAlias(keyTypes, issuers, socket));
  }

  @Override
  public String[] getServerAliases(String keyType, Principal[] issuers) {
    Generation g = material.current();
    X509ExtendedKeyManager km = g.material().keyManager();
    return km == null ? null : qualify(g, km.getServerAliases(keyType, issuers));
  }

  @Override
  public String[] getClientAliases(String keyType, Principal[] issuers) {
    Generation g = material.current();
    X509ExtendedKeyManager km = g.material().keyManager();
    return km == null ? null : qualify(g, km.getClientAliases(keyType, issuers));
  }

  @Override
  public X509Certificate[] getCertificateChain(String alias) {
    int separator = alias == null ? -1 : alias.indexOf(SEPARATOR);
    Generation g = resolve(alias, separator);
    return g == null ? null : g.material().keyManager().getCertificateChain(alias.substring(separator + 1));
  }

  @Override
  public PrivateKey getPrivateKey(String alias) {
    int separator = alias == null ? -1 : alias.indexOf(SEPARATOR);
    Generation g = resolve(alias, separator);
    return g == null ? null : g.material().keyManager().getPrivateKey(alias.substring(separator + 1));
  }

  private Generation resolve(String alias, int separator) {
    if (separator <= 0) {
      return null;
    }
    long number;
    try {
      number = Long.parseLong(alias, 0, separator, 10);
    } catch (NumberFormatException e) {
      return null;
    }
    Generation g = material.generation(number);
    return g == null || g.material().keyManager() == null ? null : g;
  }

  private static String qualify(Generation g, String alias) {
    return alias == null ? null : g.number() + String.valueOf(SEPARATOR) + alias;
  }

  private static String[] qualify(Generation g, String[] aliases) {
    return aliases == null ? null : Arrays.stream(aliases).map(a -> qualify(g, a)).toArray(String[]::new);
  }
}
