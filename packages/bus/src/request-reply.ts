/** Request/reply shared by both transports: the reply envelope and its errors. */

/** What travels back to the asker. */
export type ReplyEnvelope<R> = { ok: true; data: R } | { ok: false; error: string };

/** The responder threw: `message` is its error text. */
export class RequestError extends Error {
  override name = 'RequestError';
}

/** Nobody listens on the subject (no transcoder running, say). */
export class NoResponderError extends Error {
  override name = 'NoResponderError';
}

/** Runs a handler and wraps its outcome for the wire. */
export async function replyOf<R>(run: () => Promise<R>): Promise<ReplyEnvelope<R>> {
  try {
    return { ok: true, data: await run() };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

/** Unwraps a reply envelope: its data, or a RequestError. */
export function unwrapReply<R>(subject: string, envelope: unknown): R {
  const reply = envelope as ReplyEnvelope<R> | null;
  if (reply && typeof reply === 'object' && reply.ok === true) return reply.data;
  const error = reply && typeof reply === 'object' && reply.ok === false ? reply.error : 'malformed reply';
  throw new RequestError(`${subject}: ${error}`);
}
