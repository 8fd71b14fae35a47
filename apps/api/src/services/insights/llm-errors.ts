/**
 * What can go wrong with an LLM backend, as the routes report it (see insights-problems.ts):
 * a setting that is not there, a backend that cannot be reached, or one that answered with an error.
 */

/** The feature (or this part of it) is off: `setting` names what to set. */
export class InsightsNotConfiguredError extends Error {
  constructor(
    readonly setting: string,
    what: string,
  ) {
    super(`${what} is not configured: set ${setting}`);
    this.name = 'InsightsNotConfiguredError';
  }
}

/** No backend endpoint could be reached (each one's reason in the message). */
export class LlmUnavailableError extends Error {
  constructor(readonly reasons: string[]) {
    super(`no LLM backend could be reached: ${reasons.join('; ')}`);
    this.name = 'LlmUnavailableError';
  }
}

/** A backend answered, with an error (unknown model, bad request, its own failure) or broke off. */
export class LlmResponseError extends Error {
  constructor(
    readonly backend: string,
    message: string,
    readonly status?: number,
  ) {
    super(`${backend}: ${message}`);
    this.name = 'LlmResponseError';
  }
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EPIPE',
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
]);

/** The error code somewhere in an error's cause chain. */
export function errorCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 6 && e && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The request never reached a server (refused, unresolvable, connect timeout, reset before an answer). */
export function isConnectionError(err: unknown): boolean {
  const code = errorCode(err);
  return code !== undefined && CONNECTION_CODES.has(code);
}

export function isAbortError(err: unknown): boolean {
  return (
    err instanceof Error &&
    (err.name === 'AbortError' || err.name === 'APIUserAbortError' || errorCode(err) === 'ABORT_ERR')
  );
}

export function describeError(err: unknown): string {
  const code = errorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  return code && !message.includes(code) ? `${message} (${code})` : message;
}
