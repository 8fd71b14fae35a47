/**
 * Errors raised by @lumen/media. Every error names the file it was about, so a log line or an
 * `image_exif.ingest_error` value says which file failed and why.
 */
export class MediaError extends Error {
  readonly path: string;
  readonly operation: string;

  constructor(operation: string, path: string, message: string, options?: { cause?: unknown }) {
    super(`${operation} failed for ${path}: ${message}`, options);
    this.name = 'MediaError';
    this.path = path;
    this.operation = operation;
  }
}

/** A step took longer than its time limit. The step may still run in the background (a sync read). */
export class MediaTimeoutError extends MediaError {
  readonly timeoutMs: number;

  constructor(operation: string, path: string, timeoutMs: number) {
    super(operation, path, `timed out after ${timeoutMs} ms`);
    this.name = 'MediaTimeoutError';
    this.timeoutMs = timeoutMs;
  }
}

/** The message of any thrown value, for logs and error strings. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
