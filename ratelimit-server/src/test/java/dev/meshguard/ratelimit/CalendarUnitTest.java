package dev.meshguard.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Calendar periods: start and end of the period around an instant. Expected values are worked out
 * by hand from the calendar and the zones' published rules (EU: last Sunday of March 01:00 UTC and
 * of October 01:00 UTC; US: second Sunday of March and first Sunday of November at 02:00 local),
 * not from the code.
 */
class CalendarUnitTest {

  @ParameterizedTest(name = "{0} {1} at {2}")
  @CsvSource(delimiter = '|', textBlock = """
      MONTH | UTC              | 2026-02-15T10:00:00Z     | 2026-02-01T00:00:00Z | 2026-03-01T00:00:00Z
      MONTH | UTC              | 2026-02-28T23:59:59.999Z | 2026-02-01T00:00:00Z | 2026-03-01T00:00:00Z
      MONTH | UTC              | 2026-03-01T00:00:00Z     | 2026-03-01T00:00:00Z | 2026-04-01T00:00:00Z
      MONTH | UTC              | 2028-02-29T23:59:59.999Z | 2028-02-01T00:00:00Z | 2028-03-01T00:00:00Z
      MONTH | UTC              | 2026-04-30T23:59:59Z     | 2026-04-01T00:00:00Z | 2026-05-01T00:00:00Z
      MONTH | UTC              | 2026-01-31T12:00:00Z     | 2026-01-01T00:00:00Z | 2026-02-01T00:00:00Z
      YEAR  | UTC              | 2026-12-31T23:59:59.999Z | 2026-01-01T00:00:00Z | 2027-01-01T00:00:00Z
      YEAR  | UTC              | 2027-01-01T00:00:00Z     | 2027-01-01T00:00:00Z | 2028-01-01T00:00:00Z
      DAY   | UTC              | 2026-12-31T23:59:59.999Z | 2026-12-31T00:00:00Z | 2027-01-01T00:00:00Z
      WEEK  | UTC              | 2026-12-31T12:00:00Z     | 2026-12-28T00:00:00Z | 2027-01-04T00:00:00Z
      WEEK  | UTC              | 2026-03-01T23:00:00Z     | 2026-02-23T00:00:00Z | 2026-03-02T00:00:00Z
      WEEK  | UTC              | 2026-03-02T00:00:00Z     | 2026-03-02T00:00:00Z | 2026-03-09T00:00:00Z
      HOUR  | UTC              | 2026-06-01T10:59:59.999Z | 2026-06-01T10:00:00Z | 2026-06-01T11:00:00Z
      MONTH | Europe/Berlin    | 2026-03-15T12:00:00Z     | 2026-02-28T23:00:00Z | 2026-03-31T22:00:00Z
      MONTH | Europe/Berlin    | 2026-02-28T23:30:00Z     | 2026-02-28T23:00:00Z | 2026-03-31T22:00:00Z
      MONTH | Europe/Berlin    | 2026-02-28T22:30:00Z     | 2026-01-31T23:00:00Z | 2026-02-28T23:00:00Z
      YEAR  | Europe/Berlin    | 2026-12-31T23:30:00Z     | 2026-12-31T23:00:00Z | 2027-12-31T23:00:00Z
      DAY   | Europe/Berlin    | 2026-03-29T12:00:00Z     | 2026-03-28T23:00:00Z | 2026-03-29T22:00:00Z
      HOUR  | Europe/Berlin    | 2026-03-29T00:30:00Z     | 2026-03-29T00:00:00Z | 2026-03-29T01:00:00Z
      HOUR  | Europe/Berlin    | 2026-03-29T01:30:00Z     | 2026-03-29T01:00:00Z | 2026-03-29T02:00:00Z
      DAY   | Europe/Berlin    | 2026-10-25T12:00:00Z     | 2026-10-24T22:00:00Z | 2026-10-25T23:00:00Z
      HOUR  | Europe/Berlin    | 2026-10-25T00:30:00Z     | 2026-10-25T00:00:00Z | 2026-10-25T01:00:00Z
      HOUR  | Europe/Berlin    | 2026-10-25T01:30:00Z     | 2026-10-25T01:00:00Z | 2026-10-25T02:00:00Z
      WEEK  | Europe/Berlin    | 2026-03-29T21:59:59Z     | 2026-03-22T23:00:00Z | 2026-03-29T22:00:00Z
      DAY   | America/New_York | 2026-03-08T12:00:00Z     | 2026-03-08T05:00:00Z | 2026-03-09T04:00:00Z
      DAY   | America/New_York | 2026-11-01T12:00:00Z     | 2026-11-01T04:00:00Z | 2026-11-02T05:00:00Z
      MONTH | America/New_York | 2026-03-01T04:59:59Z     | 2026-02-01T05:00:00Z | 2026-03-01T05:00:00Z
      YEAR  | America/New_York | 2027-01-01T04:00:00Z     | 2026-01-01T05:00:00Z | 2027-01-01T05:00:00Z
      YEAR  | America/New_York | 2027-01-01T05:00:00Z     | 2027-01-01T05:00:00Z | 2028-01-01T05:00:00Z
      HOUR  | Asia/Kolkata     | 2026-06-01T10:15:00Z     | 2026-06-01T09:30:00Z | 2026-06-01T10:30:00Z
      """)
  void periodAroundAnInstant(CalendarUnit unit, String zone, String at, String start, String end) {
    Instant instant = Instant.parse(at);
    ZoneId z = ZoneId.of(zone);
    assertThat(unit.start(instant, z)).isEqualTo(Instant.parse(start));
    assertThat(unit.end(instant, z)).isEqualTo(Instant.parse(end));
    // The next period starts where this one ends.
    assertThat(unit.start(unit.end(instant, z), z)).isEqualTo(Instant.parse(end));
    // The cached bounds the counters use agree, whether the row before left this unit's cache on
    // the same period (the rows come in order), on the one before it, or on another zone's.
    assertThat(unit.bounds(instant.toEpochMilli(), z)).isEqualTo(new CalendarUnit.Bounds(
        Instant.parse(start).toEpochMilli(), Instant.parse(end).toEpochMilli()));
  }

  @ParameterizedTest(name = "{0} in {1} on {2}: {3} hours")
  @CsvSource(delimiter = '|', textBlock = """
      DAY  | Europe/Berlin    | 2026-03-29T12:00:00Z | 23
      DAY  | Europe/Berlin    | 2026-10-25T12:00:00Z | 25
      DAY  | Europe/Berlin    | 2026-06-01T12:00:00Z | 24
      DAY  | America/New_York | 2026-03-08T12:00:00Z | 23
      DAY  | America/New_York | 2026-11-01T12:00:00Z | 25
      WEEK | Europe/Berlin    | 2026-03-25T12:00:00Z | 167
      """)
  void daylightSavingChangesMakeShortAndLongPeriods(CalendarUnit unit, String zone, String at, long hours) {
    Instant instant = Instant.parse(at);
    ZoneId z = ZoneId.of(zone);
    assertThat(Duration.between(unit.start(instant, z), unit.end(instant, z))).isEqualTo(Duration.ofHours(hours));
  }
}
