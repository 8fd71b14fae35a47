import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Parser } from '@asyncapi/parser';
import { describe, expect, it } from 'vitest';
import { buildAsyncApiDocument, eventSubjects, jobSubjects, payloadSchemas } from '../src/index.ts';

const checkedIn = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  'docs',
  'asyncapi.json',
);

describe('the AsyncAPI document of our NATS subjects', () => {
  it('is a valid AsyncAPI 3 document (no errors from @asyncapi/parser)', async () => {
    const { document, diagnostics } = await new Parser().parse(JSON.stringify(buildAsyncApiDocument()));
    const errors = diagnostics.filter((d) => d.severity === 0);
    expect(errors.map((d) => `${d.path.join('.')}: ${d.message}`)).toEqual([]);
    expect(document).toBeDefined();
    const addresses = document!
      .channels()
      .all()
      .map((c) => c.address());
    for (const subject of Object.values(eventSubjects)) expect(addresses).toContain(`{prefix}.${subject}`);
    for (const subject of Object.values(jobSubjects)) {
      expect(addresses).toContain(`{prefix}_jobs.${subject}`);
      expect(addresses).toContain(`{prefix}.dlq.${subject}`);
    }
  });

  it('describes each payload as its zod schema does: a valid payload fits, `v` is required on the wire', async () => {
    const doc = buildAsyncApiDocument() as {
      components: { schemas: Record<string, { required?: string[]; properties: Record<string, unknown> }> };
    };
    for (const [subject, schema] of Object.entries(payloadSchemas)) {
      const name = subject.replace(/[.-]([a-z])/g, (_, c: string) => c.toUpperCase());
      const json = doc.components.schemas[`${name[0]!.toUpperCase()}${name.slice(1)}`]!;
      expect(json, subject).toBeDefined();
      expect(json.required, subject).toContain('v');
      expect(Object.keys(json.properties).sort(), subject).toEqual(Object.keys(schema.shape).sort());
    }
  });

  it('is checked in as docs/asyncapi.json, the same as the schemas make it (run `pnpm asyncapi` after a change)', () => {
    const onDisk = JSON.parse(fs.readFileSync(checkedIn, 'utf8'));
    expect(onDisk, 'docs/asyncapi.json is out of date: run `pnpm asyncapi`').toEqual(buildAsyncApiDocument());
  });
});
