import { randomBytes } from 'node:crypto';
import { createNatsBus, deleteBusPrefix } from '@lumen/bus';
import { startTracing, type Tracing } from '@lumen/runtime';
import { natsForTest, natsTestUrl } from '@lumen/test-support';
import { trace } from '@opentelemetry/api';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startCollector } from './otlp-collector.ts';
import { makeH264Aac, startVideoFixture, type VideoFixture, waitFor } from './video-fixture.ts';

/**
 * OpenTelemetry context in NATS headers (issue 15): with OTLP on, a video request to the api and
 * the transcoder's answer over NATS are one trace; so are an event and a job and their handlers.
 * The api and the transcoder run in this process on a real NATS bus; spans go to a real OTLP/HTTP
 * collector on loopback.
 */

const servers = natsTestUrl();
const prefix = `test_trace_${randomBytes(4).toString('hex')}`;
const CLIP = 'clips/h264.mp4';
const nats = natsForTest(servers);
let collector: Awaited<ReturnType<typeof startCollector>>;
let tracing: Tracing | undefined;
let f: VideoFixture;

beforeAll(async () => {
  await nats.up();
  collector = await startCollector();
  tracing = startTracing({ endpoint: collector.url, serviceName: 'api' });
  const bus = await createNatsBus({ servers, prefix });
  f = await startVideoFixture([{ relPath: CLIP, make: (file) => makeH264Aac(file, 2) }], {}, { bus });
});

afterAll(async () => {
  await f?.stop();
  await tracing?.shutdown();
  collector?.close();
  await nats.ifUp(() => deleteBusPrefix(servers, prefix));
});

it('a video request: the api span is the parent of the transcoder span that answered over NATS', async () => {
  const res = await fetch(`${f.url}/video/stream?path=${encodeURIComponent(CLIP)}&library=main`, {
    headers: f.auth,
  });
  expect(res.status).toBe(200);
  const answered = await waitFor(
    async () => collector.spans.find((s) => s.name === 'request video.stream.plan'),
    'the transcoder span of the stream plan request',
    10_000,
  );
  const api = collector.spans.find((s) => s.name === 'GET /video/stream');
  expect(api).toBeDefined();
  expect(answered.traceId).toBe(api?.traceId);
  expect(answered.parentSpanId).toBe(api?.spanId);
  expect(answered.kind).toBe(2); // SERVER
  expect(answered.attributes['messaging.destination.name']).toBe(`${prefix}_rpc.video.stream.plan`);
});

it('an event and a job carry the context to their handlers', async () => {
  const bus = f.t.bus;
  const seen: string[] = [];
  const sub = await bus.subscribe('test.traced', async () => {
    seen.push('event');
  });
  const consumer = await bus.consume('test.traced', async () => {
    seen.push('job');
  });
  const parent = await trace.getTracer('test').startActiveSpan('test parent', async (span) => {
    await bus.publish('test.traced', { n: 1 });
    await bus.enqueue('test.traced', { n: 2 });
    span.end();
    return span.spanContext();
  });
  await waitFor(async () => (seen.length === 2 ? true : undefined), 'the event and the job handled', 10_000);
  await sub.unsubscribe();
  await consumer.stop();
  for (const name of ['event test.traced', 'job test.traced']) {
    const span = await waitFor(
      async () => collector.spans.find((s) => s.name === name),
      `the span ${name}`,
      10_000,
    );
    expect(span.traceId).toBe(parent.traceId);
    expect(span.parentSpanId).toBe(parent.spanId);
    expect(span.kind).toBe(5); // CONSUMER
  }
});
