import type { z } from 'zod';
import {
  libraryStatusEventSchema,
  mediaIngestedEventSchema,
  mediaUploadedEventSchema,
  videoIngestedJobSchema,
  videoJobSchema,
  videoStatusEventSchema,
} from './payload-schemas.ts';
import type { Subject } from './subjects.ts';

/** The zod schema of each subject's payload. */
export const payloadSchemas = {
  'media.ingested': mediaIngestedEventSchema,
  'media.uploaded': mediaUploadedEventSchema,
  'library.status': libraryStatusEventSchema,
  'video.status': videoStatusEventSchema,
  'video.hls': videoJobSchema,
  'video.preview': videoJobSchema,
  'video.ingested': videoIngestedJobSchema,
} as const satisfies Record<Subject, z.ZodType>;

/** A subject's payload as consumers receive it (parsed: `v` set). */
export type PayloadOf<S extends Subject> = z.output<(typeof payloadSchemas)[S]>;
/** A subject's payload as producers may write it (`v` may be left out). */
export type PayloadIn<S extends Subject> = z.input<(typeof payloadSchemas)[S]>;

/** A payload that does not match its subject's contract. */
export class BusPayloadError extends Error {
  constructor(
    readonly subject: string,
    readonly issues: string[],
  ) {
    super(`Invalid ${subject} payload: ${issues.join('; ')}`);
    this.name = 'BusPayloadError';
  }
}

function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const where = issue.path.length > 0 ? issue.path.join('.') : '(payload)';
    return `${where}: ${issue.message}`;
  });
}

/** Check a payload against its subject's schema: the parsed data (unknown keys dropped) or the issues. */
export function safeParsePayload<S extends Subject>(
  subject: S,
  data: unknown,
): { ok: true; data: PayloadOf<S> } | { ok: false; error: BusPayloadError } {
  const result = payloadSchemas[subject].safeParse(data);
  if (result.success) return { ok: true, data: result.data as PayloadOf<S> };
  return { ok: false, error: new BusPayloadError(subject, describeIssues(result.error)) };
}

/** `safeParsePayload` that throws `BusPayloadError` (message lists each bad field and why). */
export function parsePayload<S extends Subject>(subject: S, data: unknown): PayloadOf<S> {
  const result = safeParsePayload(subject, data);
  if (!result.ok) throw result.error;
  return result.data;
}
