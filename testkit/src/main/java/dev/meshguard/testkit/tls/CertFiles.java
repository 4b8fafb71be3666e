package dev.meshguard.testkit.tls;

import java.nio.file.Path;

/**
 * PEM files of one issued certificate.
 *
 * @param certificate the leaf certificate alone
 * @param chain the leaf followed by its issuing CA
 * @param key the PKCS#8 private key, mode 0600
 */
public record CertFiles(Path certificate, Path chain, Path key) {}
