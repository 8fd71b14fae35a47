import { z } from 'zod';
import { isValidTimeZone, MEMORY_SPANS } from './memories-span.ts';
import { MEDIA_TYPE_FILTERS } from './photo-sort.ts';
import { booleanParam, integerParam, libraryParam, relPathParam } from './query-params.ts';

export const MAX_MEMORIES_PER_YEAR = 500;
export const DEFAULT_MEMORIES_PER_YEAR = 50;

/** The query string of `GET /memories`. `recursive` defaults to true: a folder's memories include its sub-folders. */
export const memoriesQuerySchema = z.object({
  library: libraryParam.optional(),
  path: relPathParam({ allowRoot: true }).optional(),
  recursive: booleanParam.prefault('true'),
  span: z.enum(MEMORY_SPANS).default('week'),
  tz: z
    .string()
    .max(64)
    .refine(isValidTimeZone, 'must be an IANA time zone such as Europe/Paris')
    .default('UTC'),
  media_type: z.enum(MEDIA_TYPE_FILTERS).default('all'),
  limit_per_year: integerParam(1, MAX_MEMORIES_PER_YEAR).prefault(String(DEFAULT_MEMORIES_PER_YEAR)),
});
export type MemoriesQueryInput = z.input<typeof memoriesQuerySchema>;
export type MemoriesQuery = z.output<typeof memoriesQuerySchema>;
