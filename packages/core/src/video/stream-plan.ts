import { z } from 'zod';

/**
 * `stream.json` in a video's HLS folder: everything needed to list the stream's playlists and make
 * any of its segments, decided once from ffprobe facts by the transcoder and read by the api. The
 * segments are the same for every rendition.
 */
export const StreamPlanSchema = z.object({
  version: z.literal(1),
  contentHash: z.string().min(1),
  /** The source file as the transcoder opens it. */
  sourcePath: z.string().min(1),
  mode: z.enum(['remux', 'transcode']),
  audio: z.enum(['copy', 'encode', 'none']),
  reason: z.string(),
  durationSec: z.number().positive(),
  videoIndex: z.number().int().nonnegative(),
  audioIndex: z.number().int().nonnegative().nullable(),
  /** Source frame rate, when known (frame rates above 60 are reduced when transcoding). */
  fps: z.number().positive().nullable(),
  renditions: z
    .array(
      z.object({
        /** `v0`, `v1`: folder and variant name. */
        name: z.string().regex(/^v[0-9]$/),
        width: z.number().int().positive(),
        height: z.number().int().positive(),
        /** Peak video bitrate for the encoder (transcode), kbit/s; null when copied. */
        maxrateKbps: z.number().int().positive().nullable(),
        /** libx264 preset (transcode), null when copied. */
        preset: z.string().nullable(),
        /** `BANDWIDTH` announced in the master playlist, bit/s. */
        bandwidth: z.number().int().positive(),
        /** `CODECS`, or null to leave it out. */
        codecs: z.string().nullable(),
      }),
    )
    .min(1),
  segments: z
    .array(z.object({ startSec: z.number().nonnegative(), durationSec: z.number().positive() }))
    .min(1),
  createdAt: z.string(),
});

export type StreamPlan = z.infer<typeof StreamPlanSchema>;
