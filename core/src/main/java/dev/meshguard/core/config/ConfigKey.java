package dev.meshguard.core.config;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Names the configuration key of a record component explicitly, instead of the snake_case form
 * of its name ({@code adminPort} is {@code admin_port} without this annotation).
 *
 * <p>The key must be snake_case ({@code [a-z0-9_]+}), like every key meshguard reads and writes;
 * it also names the environment variable ({@code MESHGUARD_} + key path upper-cased).
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.RECORD_COMPONENT)
public @interface ConfigKey {
  String value();
}
