/**
 * Runtime failures are IsthmusError with a stable code (like undici's UND_ERR_*), a message that says
 * what went wrong and, where we know it, a hint that says how to fix it.
 */
export class IsthmusError extends Error {
  readonly code: string;
  readonly hint: string | undefined;

  constructor(code: string, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'IsthmusError';
    this.code = code;
    this.hint = options.hint;
  }

  /** One line for a terminal: "message (fix: hint)". */
  describe(): string {
    return this.hint ? `${this.message}\n  fix: ${this.hint}` : this.message;
  }
}

export function isIsthmusError(value: unknown): value is IsthmusError {
  return value instanceof IsthmusError;
}

/** The message of anything thrown, for logs and CLI output. */
export function errorMessage(err: unknown): string {
  if (err instanceof IsthmusError) return err.describe();
  if (err instanceof Error) return err.message;
  return String(err);
}
