import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Parser } from '@asyncapi/parser';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  buildAsyncApiDocument,
  eventSubjects,
  jobSubjects,
  payloadSchemas,
  replyEnvelopeSchema,
  StreamPlanSchema,
  segmentReplySchema,
  segmentRequestSchema,
  streamPlanRequestSchema,
} from '../src/index.ts';

const checkedIn = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  'docs',
  'asyncapi.json',
);

/** The document as @asyncapi/parser reads it (parsed once: it takes a second or two). */
let parsing: ReturnType<Parser['parse']> | undefined;
const parsed = () => {
  parsing ??= new Parser().parse(JSON.stringify(buildAsyncApiDocument()));
  return parsing;
};

describe('the AsyncAPI document of our NATS subjects', () => {
  it('is a valid AsyncAPI 3 document (no errors from @asyncapi/parser)', async () => {
    const { document, diagnostics } = await parsed();
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

  it.each([
    ['video.stream.plan', 'VideoStreamPlan', streamPlanRequestSchema, StreamPlanSchema],
    ['video.segment', 'VideoSegment', segmentRequestSchema, segmentReplySchema],
  ] as const)(
    'has %s as a request/reply operation with its request and reply payloads',
    async (subject, name, request, reply) => {
      const { document } = await parsed();
      // The schema as JSON, without the ids the parser adds and the `$schema` the document leaves out.
      const plain = (value: unknown) =>
        JSON.parse(JSON.stringify(value), (key, v) =>
          key.startsWith('x-parser-') || key === '$schema' ? undefined : v,
        );
      for (const [operationId, action] of [
        [`request${name}`, 'send'],
        [`answer${name}`, 'receive'],
      ] as const) {
        const operation = document!.operations().get(operationId);
        expect(operation, operationId).toBeDefined();
        expect(operation!.action()).toBe(action);
        const [channel] = operation!.channels().all();
        expect(channel!.address()).toBe(`{prefix}_rpc.${subject}`);
        const [asked] = operation!.messages().all();
        expect(plain(asked!.payload()!.json())).toEqual(
          plain(z.toJSONSchema(request, { io: 'input', unrepresentable: 'any' })),
        );
        const answer = operation!.reply();
        expect(answer, `${operationId} has a reply`).toBeDefined();
        expect(answer!.channel()!.address()).toBeNull();
        const [answered] = answer!.messages().all();
        expect(plain(answered!.payload()!.json())).toEqual(
          plain(z.toJSONSchema(replyEnvelopeSchema(reply), { io: 'output', unrepresentable: 'any' })),
        );
      }
    },
  );

  it('is checked in as docs/asyncapi.json, the same as the schemas make it (run `pnpm asyncapi` after a change)', () => {
    const onDisk = JSON.parse(fs.readFileSync(checkedIn, 'utf8'));
    expect(onDisk, 'docs/asyncapi.json is out of date: run `pnpm asyncapi`').toEqual(buildAsyncApiDocument());
  });
});
