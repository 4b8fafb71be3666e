package dev.meshguard.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.meshguard.core.config.ConfigError;
import dev.meshguard.core.config.ConfigException;
import dev.meshguard.policy.model.AuthorizationPolicy;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link PolicyLoader#load}: files and directories, as a user's checkout or a mounted ConfigMap holds them. */
class PolicyLoaderFilesTest {

  @TempDir
  Path dir;

  private static String policy(String name, String namespace) {
    return """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata:
          name: %s
          namespace: %s
        spec:
          rules:
          - from:
            - source:
                namespaces: ["%s"]
        """.formatted(name, namespace, namespace);
  }

  private Path write(String relative, String content) throws IOException {
    Path file = dir.resolve(relative);
    Files.createDirectories(file.getParent());
    Files.writeString(file, content);
    return file;
  }

  @Test
  void readsDirectoriesRecursivelyAndSkipsOtherFilesAndHiddenOnes() throws Exception {
    write("a.yaml", policy("a", "foo"));
    write("nested/deeper/b.yml", policy("b", "foo"));
    write("nested/c.json", """
        {"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy", "metadata": {"name": "c", "namespace": "foo"}}
        """);
    write("nested/README.md", "not a policy: [");
    write("notes.txt", "key: [");
    write(".git/config.yaml", "not: [valid");
    write("nested/..2024_01_01/d.yaml", policy("hidden", "foo"));
    PolicySet set = PolicyLoader.load(List.of(dir));
    assertThat(set.authorizationPolicies()).extracting(AuthorizationPolicy::name).containsExactly("a", "b", "c");
    assertThat(set.authorizationPolicies().get(1).position().file()).isEqualTo(dir.resolve("nested/deeper/b.yml").toString());
  }

  @Test
  void aFileNamedExplicitlyIsReadWhateverItsExtension() throws Exception {
    Path file = write("policy.txt", policy("a", "foo"));
    assertThat(PolicyLoader.load(List.of(file)).authorizationPolicies()).hasSize(1);
  }

  @Test
  void aFileReachedTwiceIsReadOnce() throws Exception {
    Path file = write("a.yaml", policy("a", "foo"));
    assertThat(PolicyLoader.load(List.of(dir, file, dir)).authorizationPolicies()).hasSize(1);
  }

  /** Kubernetes mounts a ConfigMap as ..data/ plus links to it: each policy must be read once. */
  @Test
  void aMountedConfigMapIsReadOnce() throws Exception {
    write("..2026_01_01_00_00_00.000/policy.yaml", policy("mounted", "foo"));
    Files.createSymbolicLink(dir.resolve("..data"), dir.resolve("..2026_01_01_00_00_00.000"));
    Files.createSymbolicLink(dir.resolve("policy.yaml"), dir.resolve("..data/policy.yaml"));
    PolicySet set = PolicyLoader.load(List.of(dir));
    assertThat(set.authorizationPolicies()).extracting(AuthorizationPolicy::name).containsExactly("mounted");
  }

  @Test
  void theSamePolicyInTwoFilesNamesBothPlaces() throws Exception {
    Path a = write("a.yaml", policy("same", "foo"));
    Path b = write("z/b.yaml", "# the same policy again\n" + policy("same", "foo"));
    ConfigException e = catchThrowableOfType(ConfigException.class, () -> PolicyLoader.load(List.of(dir)));
    assertThat(e.errors()).containsExactly(new ConfigError(b.toString(), 2, 1, "",
        "AuthorizationPolicy foo/same is defined twice: here and at " + a + ":1:1"));
  }

  @Test
  void errorsOfEveryFileComeTogetherSortedByFile() throws Exception {
    write("b.yaml", policy("b", "foo").replace("namespaces: [\"foo\"]", "ipBlocks: [\"10.0.0.300\"]"));
    write("a.yaml", policy("a", "foo") + "---\n" + "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n");
    write("c.yaml", "key: [unclosed\n");
    Path missing = dir.resolve("missing.yaml");
    ConfigException e = catchThrowableOfType(ConfigException.class, () -> PolicyLoader.load(List.of(dir, missing)));
    assertThat(e.errors()).extracting(ConfigError::source, ConfigError::line).containsExactly(
        org.assertj.core.groups.Tuple.tuple(dir.resolve("a.yaml").toString(), 12),
        org.assertj.core.groups.Tuple.tuple(dir.resolve("b.yaml").toString(), 10),
        org.assertj.core.groups.Tuple.tuple(dir.resolve("c.yaml").toString(), 2),
        org.assertj.core.groups.Tuple.tuple(missing.toString(), 0));
    assertThat(e.errors().get(3).render()).isEqualTo(missing + ": no such file or directory");
  }

  @Test
  void aFileThatIsNotUtf8IsAnError() throws Exception {
    Path file = dir.resolve("latin1.yaml");
    Files.write(file, new byte[] {'a', ':', ' ', (byte) 0xE9, '\n'});
    ConfigException e = catchThrowableOfType(ConfigException.class, () -> PolicyLoader.load(List.of(file)));
    assertThat(e.errors()).extracting(ConfigError::render).containsExactly(file + ": not valid UTF-8 text");
  }

  @Test
  void aByteOrderMarkIsIgnored() throws Exception {
    Path file = write("bom.yaml", "\uFEFF" + policy("bom", "foo"));
    assertThat(PolicyLoader.load(List.of(file)).authorizationPolicies()).hasSize(1);
  }

  @Test
  void aFileTooLargeIsRefusedBeforeItIsRead() throws Exception {
    Path file = dir.resolve("huge.yaml");
    try (RandomAccessFile sparse = new RandomAccessFile(file.toFile(), "rw")) {
      sparse.setLength(PolicyLoader.MAX_FILE_BYTES + 1); // sparse: no bytes are written
    }
    ConfigException e = catchThrowableOfType(ConfigException.class, () -> PolicyLoader.load(List.of(file)));
    assertThat(e.errors()).singleElement().extracting(ConfigError::message).asString()
        .contains("policy files may have at most " + PolicyLoader.MAX_FILE_BYTES + " bytes");
  }

  @Test
  void filesInAnyOrderAndSplitGiveTheSameRevision() throws Exception {
    Path one = Files.createDirectories(dir.resolve("one"));
    Files.writeString(one.resolve("all.yaml"), policy("x", "a") + "---\n" + policy("y", "b") + "---\n" + policy("z", "c"));
    Path two = Files.createDirectories(dir.resolve("two"));
    Files.writeString(two.resolve("3.yaml"), policy("x", "a"));
    Files.writeString(two.resolve("1.yaml"), policy("z", "c"));
    Files.writeString(two.resolve("2.json"), """
        {"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "security.istio.io/v1",
         "kind": "AuthorizationPolicy", "metadata": {"name": "y", "namespace": "b"},
         "spec": {"rules": [{"from": [{"source": {"namespaces": ["b"]}}]}]}}]}
        """);
    PolicySet first = PolicyLoader.load(List.of(one));
    PolicySet second = PolicyLoader.load(List.of(two));
    assertThat(second.revision()).isEqualTo(first.revision());
    assertThat(second.authorizationPolicies()).extracting(AuthorizationPolicy::ref).containsExactly("a/x", "b/y", "c/z");
  }

  @Test
  void anEmptyDirectoryIsAnEmptySet() throws Exception {
    PolicySet set = PolicyLoader.load(List.of(dir));
    assertThat(set.authorizationPolicies()).isEmpty();
    assertThat(set.revision()).isEqualTo(PolicyLoader.parse("x.yaml", "").revision());
  }
}
