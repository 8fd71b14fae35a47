import path from 'node:path';
import { z } from 'zod';

/** `<algorithm>:<hex digest>`, e.g. `xxh3-128:` followed by 32 hex digits. */
export const contentHashSchema = z
  .string()
  .regex(
    /^[a-z0-9]+(-[a-z0-9]+)*:[0-9a-f]{16,128}$/,
    'must be <algorithm>:<lower-case hex>, e.g. xxh3-128:0123…',
  );

/**
 * A library-relative posix path as the watcher stored it: not empty, no leading `/`, no NUL, no
 * `..` segment. Deliberately lighter than `validateRelPath` (which judges client input): real
 * file names on disk may hold characters a client may not send, and they still need to travel.
 */
export const relPathSchema = z
  .string()
  .min(1, 'must not be empty')
  .refine((v) => !v.startsWith('/'), 'must be relative (no leading /)')
  .refine((v) => !v.includes('\0'), 'must not contain NUL')
  .refine((v) => !v.split('/').includes('..'), 'must not contain ".." segments');

export const isoTimestampSchema = z.iso.datetime({ offset: true, message: 'must be an ISO-8601 date-time' });

const absolutePathSchema = z
  .string()
  .min(1)
  .refine((v) => path.isAbsolute(v) && !v.includes('\0'), 'must be an absolute path');

export const mediaTypeSchema = z.enum(['photo', 'raw', 'video']);
export const libraryStatusSchema = z.enum(['online', 'stale']);

/**
 * The contract version every payload carries (`v`). Producers may leave it out (it is stamped on
 * the way out); a consumer drops a payload of a version it does not know. Adding an optional field
 * keeps the version; removing or changing a field makes a new one (docs/events.md).
 */
export const PAYLOAD_VERSION = 1;
const version = { v: z.literal(PAYLOAD_VERSION).default(PAYLOAD_VERSION) };

const libraryRef = {
  libraryId: z.number().int().positive(),
  library: z.string().min(1),
};

export const mediaIngestedEventSchema = z.object({
  ...version,
  ...libraryRef,
  relPath: relPathSchema,
  contentHash: contentHashSchema,
  mediaType: mediaTypeSchema,
  mimeType: z.string().min(1).optional(),
  sizeBytes: z.number().int().nonnegative(),
  /** False when a known file changed or was re-ingested. */
  isNew: z.boolean(),
  durationSec: z.number().nonnegative().nullable().optional(),
  at: isoTimestampSchema,
});

/**
 * A file was just written into a library by the api (an upload): the watcher ingests it at once
 * instead of at its next scan, through the same pipeline (and then publishes `media.ingested`).
 */
export const mediaUploadedEventSchema = z.object({
  ...version,
  ...libraryRef,
  relPath: relPathSchema,
  at: isoTimestampSchema,
});

export const libraryStatusEventSchema = z.object({
  ...version,
  ...libraryRef,
  status: libraryStatusSchema,
  previous: libraryStatusSchema.optional(),
  reason: z.string().optional(),
  at: isoTimestampSchema,
});

export const videoStatusEventSchema = z.object({
  ...version,
  kind: z.enum(['hls', 'preview']),
  contentHash: contentHashSchema,
  state: z.enum(['queued', 'running', 'ready', 'failed']),
  error: z.string().optional(),
  /**
   * On `running`: the worker sends `running` again every `heartbeatMs` while the job runs. Two
   * intervals without one mean the worker is gone and the job waits for redelivery (`queued`).
   * Absent (older transcoders): `running` lasts until the next event.
   */
  heartbeatMs: z
    .number()
    .int()
    .positive()
    .optional()
    .describe(
      'On running: the worker repeats this event every heartbeatMs while the job runs; after two intervals without one, treat the job as queued (its worker is gone and the bus redelivers it).',
    ),
  at: isoTimestampSchema,
});

/**
 * `video.ingested`: the watcher stored a new or changed video (the `media.ingested` payload, videos
 * only), a work item for the transcoder, which makes the outputs the video lacks in the background.
 */
export const videoIngestedJobSchema = mediaIngestedEventSchema.extend({ mediaType: z.literal('video') });

/** The payload of both video jobs (`video.hls`, `video.preview`). */
export const videoJobSchema = z.object({
  ...version,
  contentHash: contentHashSchema,
  /** Absolute path of the original, as the transcoder should open it. */
  sourcePath: absolutePathSchema,
  library: z.string().min(1),
  relPath: relPathSchema,
  requestedAt: isoTimestampSchema,
});

// Payload types as producers write them (`v` optional); consumers receive them with `v` set.
export type MediaIngestedEvent = z.input<typeof mediaIngestedEventSchema>;
export type MediaUploadedEvent = z.input<typeof mediaUploadedEventSchema>;
export type LibraryStatusEvent = z.input<typeof libraryStatusEventSchema>;
export type VideoStatusEvent = z.input<typeof videoStatusEventSchema>;
export type VideoJob = z.input<typeof videoJobSchema>;
export type VideoIngestedJob = z.input<typeof videoIngestedJobSchema>;
export type VideoHlsJob = VideoJob;
export type VideoPreviewJob = VideoJob;
