package dev.meshguard.ca;

import io.grpc.Status;
import java.util.Objects;

/**
 * Why the CA did not issue: a category that maps one-to-one onto the gRPC status a server
 * answers with, and a reason that says what was wrong (identity-ca.md §8).
 *
 * @param category what kind of refusal this is
 * @param reason a sentence for the caller (for {@link Category#INTERNAL}, for the log only)
 */
public record Refusal(Category category, String reason) {

  public Refusal {
    Objects.requireNonNull(category, "category");
    Objects.requireNonNull(reason, "reason");
  }

  /** The refusal categories, each with the gRPC status code the CA servers will answer with. */
  public enum Category {
    /** No or bad credentials: the caller is not known. */
    UNAUTHENTICATED(Status.Code.UNAUTHENTICATED),
    /** The caller is known but may not have what the CSR asks for (another identity, extra names). */
    PERMISSION_DENIED(Status.Code.PERMISSION_DENIED),
    /** The request itself is wrong: malformed CSR, bad signature, weak key, bad algorithm, TTL over max. */
    INVALID_ARGUMENT(Status.Code.INVALID_ARGUMENT),
    /** The CA could not sign (expired CA, provider failure); the details go to the log only. */
    INTERNAL(Status.Code.INTERNAL);

    private final Status.Code statusCode;

    Category(Status.Code statusCode) {
      this.statusCode = statusCode;
    }

    public Status.Code statusCode() {
      return statusCode;
    }
  }

  static Refusal invalid(String reason) {
    return new Refusal(Category.INVALID_ARGUMENT, reason);
  }

  static Refusal denied(String reason) {
    return new Refusal(Category.PERMISSION_DENIED, reason);
  }

  @Override
  public String toString() {
    return category + ": " + reason;
  }
}
