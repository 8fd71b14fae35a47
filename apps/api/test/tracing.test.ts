import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTracing } from '@lumen/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from './test-api.ts';

/** A small real OTLP/HTTP collector: records the span names of every POST /v1/traces (JSON). */
function startCollector() {
  const spans: { name: string; attributes: Record<string, unknown> }[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += String(d);
    });
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces') {
        const parsed = JSON.parse(body) as {
          resourceSpans: {
            scopeSpans: {
              spans: { name: string; attributes: { key: string; value: Record<string, unknown> }[] }[];
            }[];
          }[];
        };
        for (const rs of parsed.resourceSpans)
          for (const ss of rs.scopeSpans)
            for (const s of ss.spans)
              spans.push({
                name: s.name,
                attributes: Object.fromEntries(s.attributes.map((a) => [a.key, Object.values(a.value)[0]])),
              });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  return new Promise<{ url: string; spans: typeof spans; close: () => void }>((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        spans,
        close: () => server.close(),
      }),
    ),
  );
}

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
