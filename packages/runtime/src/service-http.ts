import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { withTimeout } from '@lumen/core';
import type { Logger } from 'pino';
import { collectDefaultMetrics, type Registry } from 'prom-client';

/** What `/health` reports; `ok: false` answers 503 so a probe restarts or routes around the service. */
export interface ServiceHealth {
  ok: boolean;
  [detail: string]: unknown;
}

export interface ServiceHttpOptions {
  /** The service's name, in the health answer and the logs. */
  service: string;
  bind: { host: string; port: number };
  registry: Registry;
  health: () => Promise<ServiceHealth>;
  logger: Logger;
  /** A health check that does not answer within this long reports `ok: false`. Default 3 000 ms. */
  healthTimeoutMs?: number;
  /** Add the default process metrics (CPU, memory, event loop) to `registry`. Default true. */
  processMetrics?: boolean;
}

export interface ServiceHttp {
  /** The bound address (the real port when 0 was asked for). */
  url: string;
  close(): Promise<void>;
}

/**
 * The small HTTP port of a service that has no API of its own (the watcher and the transcoder when
 * they run as their own processes, `METRICS_BIND_URL`): `GET /metrics` (Prometheus text) and
 * `GET /health` (JSON; 503 when not ok). Nothing else: every other path is 404, every other method 405.
 */
export async function startServiceHttp(opts: ServiceHttpOptions): Promise<ServiceHttp> {
  const timeoutMs = opts.healthTimeoutMs ?? 3_000;
  if (opts.processMetrics ?? true) collectDefaultMetrics({ register: opts.registry });
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
      res.end(body);
    };
    if (path !== '/metrics' && path !== '/health') {
      send(
        404,
        'application/problem+json',
        JSON.stringify({ type: 'not-found', title: 'Not found', status: 404 }),
      );
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      send(
        405,
        'application/problem+json',
        JSON.stringify({ type: 'method-not-allowed', title: 'Method not allowed', status: 405 }),
      );
      return;
    }
    if (path === '/metrics') {
      opts.registry.metrics().then(
        (text) => send(200, opts.registry.contentType, text),
        (err: unknown) => {
          opts.logger.warn({ err }, 'metrics collection failed');
          send(500, 'text/plain', 'metrics collection failed');
        },
      );
      return;
    }
    withTimeout(opts.health(), timeoutMs, 'the health check').then(
      (health) =>
        send(health.ok ? 200 : 503, 'application/json', JSON.stringify({ service: opts.service, ...health })),
      (err: unknown) =>
        send(
          503,
          'application/json',
          JSON.stringify({
            service: opts.service,
            ok: false,
            error: err instanceof Error ? err.message : String(err),
          }),
        ),
    );
  });
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.bind.port, opts.bind.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  opts.logger.info({ url }, `${opts.service} metrics and health listening`);
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
