package dev.meshguard.ratelimit;

import java.time.DayOfWeek;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.temporal.ChronoUnit;
import java.time.temporal.TemporalAdjusters;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A calendar period of a tenant quota: hours, days, weeks, months and years as a wall clock in a
 * time zone shows them, so "1,000,000 per month" resets at midnight of the 1st in that zone.
 * Pure functions of an instant and a zone ({@code java.time}, the JDK's tz database): no clock.
 *
 * <ul>
 *   <li>A day starts at the zone's first instant of the date ({@link LocalDate#atStartOfDay(ZoneId)}),
 *       which is not always 00:00 (a zone whose clocks skip midnight starts the day at 01:00), so a
 *       day lasts 23, 24 or 25 hours around daylight saving changes.
 *   <li>A week starts on Monday (ISO 8601), at the start of that day.
 *   <li>A month starts on its 1st, a year on January 1st.
 *   <li>An hour is a UTC-offset hour: the instant truncated to the hour in the zone's current
 *       offset. On the night clocks fall back the repeated wall hour is two periods, as it lasts
 *       two hours of real time; zones with half-hour offsets (Asia/Kolkata) keep their half hours.
 * </ul>
 *
 * <p>{@link #end} is the start of the next period; a period is the half-open interval [start, end).
 */
public enum CalendarUnit {
  HOUR(RateLimitUnit.HOUR),
  DAY(RateLimitUnit.DAY),
  WEEK(RateLimitUnit.WEEK),
  MONTH(RateLimitUnit.MONTH),
  YEAR(RateLimitUnit.YEAR);

  private final RateLimitUnit reportedUnit;
  /**
   * The last period computed per zone: every request of a quota falls in the same period until it
   * ends, and computing one takes several {@code java.time} objects (microseconds per request).
   */
  private final ConcurrentHashMap<ZoneId, Bounds> lastPeriod = new ConcurrentHashMap<>();

  /** A period [startMillis, endMillis) in Unix milliseconds. */
  record Bounds(long startMillis, long endMillis) {
    boolean contains(long millis) {
      return millis >= startMillis && millis < endMillis;
    }
  }

  CalendarUnit(RateLimitUnit reportedUnit) {
    this.reportedUnit = reportedUnit;
  }

  /** The period containing {@code nowMillis} in {@code zone}, as {@link #start} and {@link #end} give it. */
  Bounds bounds(long nowMillis, ZoneId zone) {
    Bounds last = lastPeriod.get(zone);
    if (last != null && last.contains(nowMillis)) {
      return last;
    }
    Instant now = Instant.ofEpochMilli(nowMillis);
    Bounds computed = new Bounds(start(now, zone).toEpochMilli(), end(now, zone).toEpochMilli());
    lastPeriod.put(zone, computed);
    return computed;
  }

  /** The name used in YAML: {@code hour}, {@code day}, {@code week}, {@code month}, {@code year}. */
  public String configName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The unit reported in a status's {@code current_limit} (rls.proto has the same five). */
  public RateLimitUnit reportedUnit() {
    return reportedUnit;
  }

  /** The first instant of the period that contains {@code instant} in {@code zone}. */
  public Instant start(Instant instant, ZoneId zone) {
    Objects.requireNonNull(instant, "instant");
    Objects.requireNonNull(zone, "zone");
    ZonedDateTime at = instant.atZone(zone);
    return switch (this) {
      // The offset in force at the instant: truncating the offset date-time keeps both of a
      // fall-back night's repeated hours apart.
      case HOUR -> at.toOffsetDateTime().truncatedTo(ChronoUnit.HOURS).toInstant();
      case DAY -> at.toLocalDate().atStartOfDay(zone).toInstant();
      case WEEK -> at.toLocalDate().with(TemporalAdjusters.previousOrSame(DayOfWeek.MONDAY)).atStartOfDay(zone)
          .toInstant();
      case MONTH -> at.toLocalDate().withDayOfMonth(1).atStartOfDay(zone).toInstant();
      case YEAR -> at.toLocalDate().withDayOfYear(1).atStartOfDay(zone).toInstant();
    };
  }

  /** The first instant after the period that contains {@code instant}: the next period's start. */
  public Instant end(Instant instant, ZoneId zone) {
    Instant start = start(instant, zone);
    return switch (this) {
      case HOUR -> start.plus(1, ChronoUnit.HOURS);
      case DAY -> nextStart(start, zone, 1, ChronoUnit.DAYS);
      case WEEK -> nextStart(start, zone, 1, ChronoUnit.WEEKS);
      case MONTH -> nextStart(start, zone, 1, ChronoUnit.MONTHS);
      case YEAR -> nextStart(start, zone, 1, ChronoUnit.YEARS);
    };
  }

  private static Instant nextStart(Instant start, ZoneId zone, long amount, ChronoUnit unit) {
    LocalDate date = LocalDateTime.ofInstant(start, zone).toLocalDate().plus(amount, unit);
    return date.atStartOfDay(zone).toInstant();
  }

  static CalendarUnit parse(String text) {
    for (CalendarUnit unit : values()) {
      if (unit.configName().equals(text)) {
        return unit;
      }
    }
    return null;
  }
}
