import { z } from '@hono/zod-openapi';

type FieldDoc = string | { description: string; example?: unknown };

/**
 * Attach OpenAPI descriptions to the fields of a zod object defined elsewhere (the query and body
 * schemas live in @lumen/core, which knows nothing of OpenAPI). Metadata only: validation is
 * unchanged. Returns the schema.
 */
export function describeFields<T extends z.ZodObject>(
  schema: T,
  docs: Partial<Record<keyof T['shape'] & string, FieldDoc>>,
): T {
  for (const [name, doc] of Object.entries(docs) as [string, FieldDoc][]) {
    const field = schema.shape[name] as z.ZodType | undefined;
    if (!field) throw new Error(`describeFields: the schema has no field "${name}"`);
    field.register(z.globalRegistry, typeof doc === 'string' ? { description: doc } : doc);
  }
  return schema;
}
