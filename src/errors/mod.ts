/**
 * Domain errors. Each maps once to CKAN's error envelope in the HTTP layer and to one line in the CLI.
 *
 * @module
 */

/** Input that breaks a rule; `fields` maps each field to its messages, as CKAN's Validation Error does. */
export class ValidationError extends Error {
  override name = "ValidationError";
  constructor(readonly fields: Record<string, string[]>) {
    super(
      Object.entries(fields).map(([field, messages]) => `${field}: ${messages.join("; ")}`).join(", "),
    );
  }

  static of(field: string, message: string): ValidationError {
    return new ValidationError({ [field]: [message] });
  }
}

/** The named thing does not exist (or the caller may not know that it does). */
export class NotFoundError extends Error {
  override name = "NotFoundError";
}

/** The caller may not do this. */
export class AuthorizationError extends Error {
  override name = "AuthorizationError";
}

/** A remote server failed or answered something unusable; the message says which and where. */
export class RemoteError extends Error {
  override name = "RemoteError";
  constructor(
    message: string,
    readonly status?: number,
    /** The start of an error answer's body (at most 8 KB): an OWS exception report, say. */
    readonly body?: string,
  ) {
    super(message);
  }
}

/** A conditional GET answered 304: the document has not changed since the validators were taken. */
export class NotModifiedError extends RemoteError {
  override name = "NotModifiedError";
  constructor(readonly url: string) {
    super(`Not modified (HTTP 304): ${url}`, 304);
  }
}

/**
 * A service this process needs (the broker, the database) did not answer in time; the message names
 * the host, the port and the config key to check. HTTP answers 503, the CLI prints the one line.
 */
export class UnavailableError extends Error {
  override name = "UnavailableError";
}

/** The message of any thrown value, for logs and error rows. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
