package dev.meshguard.core.config;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Inclusive bounds for an {@code int}, {@code long}, {@code double} or {@link java.time.Duration}
 * component. Bounds are written as they would be in the file: {@code @Range(min = "1", max =
 * "65535")}, {@code @Range(min = "0.5")}, {@code @Range(min = "1ms", max = "1h")}. An empty
 * bound is no bound. A value from the file, a flag or the environment outside the bounds is a
 * {@link ConfigError} ({@code must be between 1 and 65535, found 70000}); values of the defaults
 * instance are not checked.
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.RECORD_COMPONENT)
public @interface Range {
  /** The smallest allowed value, or empty for none. */
  String min() default "";

  /** The largest allowed value, or empty for none. */
  String max() default "";
}
