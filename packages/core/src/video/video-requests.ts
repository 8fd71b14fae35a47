import { z } from 'zod';
import { contentHashSchema, videoJobSchema } from '../bus-contracts/payload-schemas.ts';
import { MAX_SEGMENTS } from './hls-timeline.ts';
import { StreamPlanSchema } from './stream-plan.ts';

/**
 * Request/reply subjects of the transcoder (answered by any one replica, nothing stored): what a
 * viewer waits for now, as opposed to the `video.*` jobs of the work queue.
 */
export const videoRequestSubjects = {
  /** Plan the stream of a video (ffprobe) unless planned: reply `StreamPlan`. */
  streamPlan: 'video.stream.plan',
  /** Make one segment now (starting or joining an ffmpeg run): reply when it is on disk. */
  segment: 'video.segment',
} as const;

/** `video.stream.plan`: the same fields as a video job. */
export const streamPlanRequestSchema = videoJobSchema;
export type StreamPlanRequest = z.input<typeof streamPlanRequestSchema>;

/** `video.segment`: one segment of one rendition of a planned stream. */
export const segmentRequestSchema = z.object({
  contentHash: contentHashSchema,
  rendition: z.string().regex(/^v[0-9]$/),
  index: z
    .number()
    .int()
    .nonnegative()
    .max(MAX_SEGMENTS - 1),
});
export type SegmentRequest = z.output<typeof segmentRequestSchema>;

/** The reply to `video.segment`: made now by a run, or already on disk. */
export const segmentReplySchema = z.object({ made: z.enum(['run', 'disk']) });
export type SegmentReply = z.output<typeof segmentReplySchema>;

export type VideoRequestSubject = (typeof videoRequestSubjects)[keyof typeof videoRequestSubjects];

/**
 * What each request subject takes and answers (the reply travels wrapped in the transport's
 * envelope, see replyEnvelopeSchema): the contract docs/asyncapi.json publishes.
 */
export const videoRequestContracts: Record<VideoRequestSubject, { request: z.ZodType; reply: z.ZodType }> = {
  [videoRequestSubjects.streamPlan]: { request: streamPlanRequestSchema, reply: StreamPlanSchema },
  [videoRequestSubjects.segment]: { request: segmentRequestSchema, reply: segmentReplySchema },
};
