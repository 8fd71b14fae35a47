import { z } from 'zod';
import { photoRefSchema } from '../photos/library-requests.schema.ts';

/** Bodies and query strings of `/insights/*` (SPEC 7). Photos are named as everywhere: `path`, `library`. */

export const MAX_CHAT_MESSAGE_CHARS = 8000;

export const insightBackendSchema = z.enum(['ollama', 'openrouter']);
export type InsightBackendName = z.infer<typeof insightBackendSchema>;

const modelName = z.string().trim().min(1).max(200);

/** `POST /insights/generate` and `/insights/generate/agentic`. */
export const generateInsightBodySchema = photoRefSchema.extend({
  backend: insightBackendSchema.optional(),
  model: modelName.optional(),
  /** An extra instruction for this insight ("focus on the architecture"). */
  prompt: z.string().max(MAX_CHAT_MESSAGE_CHARS).optional(),
});
export type GenerateInsightBody = z.output<typeof generateInsightBodySchema>;

/** `POST /insights/chat` and `/insights/chat/stream`. */
export const chatBodySchema = photoRefSchema.extend({
  message: z.string().trim().min(1, 'must not be empty').max(MAX_CHAT_MESSAGE_CHARS),
  backend: insightBackendSchema.optional(),
  model: modelName.optional(),
  /** Write the turn to a new insight row (the older rows stop being current) instead of this one. */
  amend: z.boolean().default(false),
});
export type ChatBody = z.output<typeof chatBodySchema>;

/** `POST /insights/chat/rewind`: drop the user message at `index` and all after it (last turn by default). */
export const rewindBodySchema = photoRefSchema.extend({
  /** Index 0, the generation request, is protected: a 400 even before any backend is asked for. */
  index: z.number().int().min(1, 'index 0 (the first message) is protected').optional(),
});
export type RewindBody = z.output<typeof rewindBodySchema>;

/** `POST /insights/rate` */
export const rateBodySchema = photoRefSchema.extend({
  rating: z.number().int().min(-1).max(5),
});
export type RateBody = z.output<typeof rateBodySchema>;

/** `GET /insights` and `GET /insights/chat/history`. */
export const insightQuerySchema = photoRefSchema.extend({
  all: z
    .enum(['true', 'false', '1', '0'])
    .optional()
    .transform((v) => v === 'true' || v === '1'),
});
export type InsightQuery = z.output<typeof insightQuerySchema>;
