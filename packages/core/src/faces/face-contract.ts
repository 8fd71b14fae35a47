import { z } from 'zod';

/**
 * The face-inference HTTP contract (docs/faces.md), as zod schemas. Shared by Lumen's client, the
 * built-in service and the fake service of the tests. Unknown fields pass (services may send more).
 */

export const faceInfoSchema = z.object({
  model: z.string().min(1),
  embeddingDim: z.number().int().positive(),
  normalized: z.boolean(),
});

/** Base64 of little-endian float32 values. */
export const base64EmbeddingSchema = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64');

export const faceBoxSchema = z.object({
  x1: z.number().finite(),
  y1: z.number().finite(),
  x2: z.number().finite(),
  y2: z.number().finite(),
});

export const detectedFaceSchema = z.object({
  bbox: faceBoxSchema,
  score: z.number().finite(),
  landmarks: z.array(z.array(z.number())).optional(),
  embedding: base64EmbeddingSchema,
});

export const detectResponseSchema = z.object({
  model: z.string().min(1),
  imageWidth: z.number().int().positive(),
  imageHeight: z.number().int().positive(),
  faces: z.array(detectedFaceSchema),
});

export const embedResponseSchema = z.object({
  embedding: base64EmbeddingSchema,
  embeddingDim: z.number().int().positive(),
  aligned: z.boolean(),
  model: z.string().min(1).optional(),
});

export const faceErrorBodySchema = z.object({
  error: z.string(),
  message: z.string().optional(),
});

/** Options of `POST /v1/faces/detect` (query string or form fields). */
export const detectOptionsSchema = z.object({
  minScore: z.coerce.number().min(0).max(1).optional(),
  maxFaces: z.coerce.number().int().min(1).max(1000).optional(),
});

export type FaceInfo = z.output<typeof faceInfoSchema>;
export type FaceBox = z.output<typeof faceBoxSchema>;
export type DetectedFace = z.output<typeof detectedFaceSchema>;
export type DetectResponse = z.output<typeof detectResponseSchema>;
export type EmbedResponse = z.output<typeof embedResponseSchema>;
export type DetectOptions = z.output<typeof detectOptionsSchema>;

/** The error codes of the contract. */
export const faceErrorCodes = {
  badImage: 'bad_image',
  badRequest: 'bad_request',
  tooLarge: 'too_large',
  loading: 'loading',
} as const;
