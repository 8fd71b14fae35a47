import { z } from 'zod';

/**
 * How a reply to a request travels (packages/bus/src/request-reply.ts, both transports): the
 * responder's answer as `{ ok: true, data }`, or `{ ok: false, error }` when it threw.
 */
export function replyEnvelopeSchema<T extends z.ZodType>(data: T) {
  return z.discriminatedUnion('ok', [
    z.object({ ok: z.literal(true), data }),
    z.object({ ok: z.literal(false), error: z.string().describe("The responder's error message.") }),
  ]);
}
