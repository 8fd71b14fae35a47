import { z } from '@hono/zod-openapi';
import { PROBLEM_CONTENT_TYPE, type ProblemKind, problemCatalog } from './problem.ts';

/** OpenAPI description of a problem+json body (see problem.ts for the catalog). */
export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: 'https://lumen.dev/problems/validation' }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string().optional(),
    errors: z.array(z.object({ in: z.string(), name: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem');

/** `responses` entries for the problems a route can answer with, for `createRoute`. */
export function problemResponses(...kinds: ProblemKind[]) {
  const out: Record<
    number,
    { description: string; content: Record<string, { schema: typeof ProblemSchema }> }
  > = {};
  for (const kind of kinds) {
    const { status, title } = problemCatalog[kind];
    out[status] = { description: title, content: { [PROBLEM_CONTENT_TYPE]: { schema: ProblemSchema } } };
  }
  return out;
}
