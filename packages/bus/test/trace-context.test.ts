import { expect, it } from 'vitest';
import { inRemoteSpan, traceHeaders } from '../src/trace-context.ts';

// Tracing off (no OTLP endpoint: no propagator or tracer provider registered in this process).
it('adds no headers and runs handlers as they are when tracing is off', async () => {
  expect(traceHeaders()).toBeUndefined();
  expect(await inRemoteSpan('job x', 'consumer', undefined, {}, async () => 42)).toBe(42);
  await expect(
    inRemoteSpan('job x', 'consumer', undefined, {}, async () => {
      throw new Error('boom');
    }),
  ).rejects.toThrow('boom');
});
