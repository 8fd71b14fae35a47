import { startTracing } from '@lumen/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCollector } from './otlp-collector.ts';
import { startTestApi, type TestApi } from './test-api.ts';

describe('OpenTelemetry tracing (OTLP_OTLS_ENDPOINT set)', () => {
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let t: TestApi;

  beforeAll(async () => {
    collector = await startCollector();
    t = await startTestApi();
  });
  afterAll(async () => {
    await t?.stop();
    collector?.close();
  });

  it('exports one server span per request, named by route pattern, to the collector', async () => {
    const tracing = startTracing({ endpoint: collector.url, serviceName: 'api' });
    expect((await fetch(`${t.url}/health`)).status).toBe(200);
    expect((await fetch(`${t.url}/me`)).status).toBe(401);
    await tracing.shutdown();
    const names = collector.spans.map((s) => s.name);
    expect(names).toContain('GET /health');
    const me = collector.spans.find((s) => s.attributes['url.path'] === '/me');
    expect(me?.attributes['http.response.status_code']).toBe(401);
  });
});
