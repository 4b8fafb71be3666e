package dev.meshguard.audit;

import static org.assertj.core.api.Assertions.assertThat;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** Any structured value is written in one form that reads back to the same value. */
class AuditValueProperties {

  @Property(tries = 300)
  void aValueReadsBackFromItsWrittenForm(@ForAll("values") AuditValue value) {
    String written = value.toJson();
    AuditValue read = AuditValue.parse(written);
    assertThat(read).isEqualTo(value);
    assertThat(read.toJson()).as("one written form").isEqualTo(written);
  }

  @Provide
  Arbitrary<AuditValue> values() {
    return value(3);
  }

  private static Arbitrary<AuditValue> value(int depth) {
    Arbitrary<AuditValue> leaf = Arbitraries.oneOf(
        Arbitraries.strings().ofMaxLength(12).map(s -> (AuditValue) new AuditValue.Str(s)),
        Arbitraries.longs().map(n -> (AuditValue) new AuditValue.Num(n)),
        Arbitraries.of(true, false).map(b -> (AuditValue) new AuditValue.Bool(b)));
    if (depth == 0) {
      return leaf;
    }
    Arbitrary<AuditValue> child = value(depth - 1);
    return Arbitraries.oneOf(leaf,
        child.list().ofMaxSize(4).map(items -> (AuditValue) new AuditValue.Arr(items)),
        Arbitraries.maps(Arbitraries.strings().ofMaxLength(8), child).ofMaxSize(4)
            .map(members -> (AuditValue) new AuditValue.Obj(members)));
  }
}
