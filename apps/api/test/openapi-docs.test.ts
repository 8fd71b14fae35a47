import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.ts';
import { PUBLIC_PATHS } from '../src/http/auth.middleware.ts';
import { startTestApi, type TestApi } from './test-api.ts';

interface Operation {
  summary?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  parameters?: { name: string; in: string }[];
  responses?: Record<string, unknown>;
}
interface Document {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components: {
    securitySchemes: Record<string, { type: string; scheme: string }>;
    schemas: Record<string, unknown>;
  };
}

/** `/a/:id` -> `/a/{id}` (hono's pattern to OpenAPI's). */
const openApiPath = (path: string) => path.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?\??/g, '{$1}');

describe('GET /openapi.json and /docs', () => {
  let t: TestApi;
  let doc: Document;
  /** Every route the app registers (method + path), middleware left out. */
  let routes: { method: string; path: string }[];

  beforeAll(async () => {
    t = await startTestApi();
    const res = await fetch(`${t.url}/openapi.json`);
    expect(res.status).toBe(200);
    doc = (await res.json()) as Document;
    const app = createApp({
      config: t.config,
      database: t.database,
      bus: t.bus,
      logger: pino({ level: 'silent' }),
    });
    routes = app.routes.filter((r) => r.method !== 'ALL').map((r) => ({ method: r.method, path: r.path }));
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('is an OpenAPI 3.1 document with the bearer scheme', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.title).toBe('Lumen API');
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('documents every registered route', () => {
    expect(routes.length).toBeGreaterThan(15);
    const missing = routes.filter((r) => !doc.paths[openApiPath(r.path)]?.[r.method.toLowerCase()]);
    expect(missing, 'routes missing from /openapi.json').toEqual([]);
    // And nothing it documents is missing from the app.
    const registered = new Set(routes.map((r) => `${r.method.toLowerCase()} ${openApiPath(r.path)}`));
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of Object.keys(item))
        expect(registered.has(`${method} ${path}`), `${method} ${path}`).toBe(true);
    }
  });

  it('documents the photo library endpoints with their parameters', () => {
    for (const [method, path] of [
      ['get', '/photos'],
      ['post', '/image'],
      ['get', '/image/tags/all'],
      ['get', '/image/tags'],
      ['post', '/image/tags'],
      ['delete', '/image/tags'],
      ['post', '/image/tags/batch'],
      ['get', '/favorites'],
      ['post', '/favorites'],
      ['delete', '/favorites'],
      ['get', '/memories'],
    ] as const) {
      const op = doc.paths[path]?.[method];
      expect(op, `${method} ${path}`).toBeDefined();
      expect(op!.summary).toBeTruthy();
      expect(op!.security).toEqual([{ bearerAuth: [] }]);
    }
    const photoParams = doc.paths['/photos']!.get!.parameters!.map((p) => p.name);
    expect(photoParams).toEqual(
      expect.arrayContaining([
        'library',
        'path',
        'recursive',
        'sort',
        'seed',
        'camera_make',
        'camera_model',
        'lens',
        'gps_lat',
        'gps_lon',
        'gps_radius_km',
        'date_from',
        'date_to',
        'tag_ids',
        'tag_mode',
        'media_type',
        'favorite',
        'limit',
        'cursor',
      ]),
    );
    expect(doc.paths['/memories']!.get!.parameters!.map((p) => p.name)).toEqual(
      expect.arrayContaining(['path', 'recursive', 'span', 'tz']),
    );
    expect(doc.components.schemas.PhotoItem).toBeDefined();
  });

  it('marks every route but the public ones as needing the bearer token', () => {
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        if (PUBLIC_PATHS.has(path)) continue;
        if (
          path.startsWith('/video/hls/') ||
          path.startsWith('/video/clip/') ||
          path.startsWith('/video/gif/')
        ) {
          continue; // signed URLs, see auth.middleware.ts
        }
        expect(op.security, `${method} ${path}`).toEqual(expect.arrayContaining([{ bearerAuth: [] }]));
      }
    }
  });

  it('renders /docs as a self-contained HTML page listing every route', async () => {
    const res = await fetch(`${t.url}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toMatch(/^<!doctype html>/);
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of Object.keys(item)) {
        expect(html).toContain(
          `${method.toUpperCase()}</span> <code class="path">${path.replace(/&/g, '&amp;')}</code>`,
        );
      }
    }
    // Parameters and schemas are spelled out.
    expect(html).toContain('<code>gps_radius_km</code>');
    expect(html).toContain('id="schema-PhotoItem"');
    expect(html).toContain('<code class="prop">thumbnail_url</code>');
    // No scripts, stylesheets or images from elsewhere (no network here, nor for many users).
    expect(html).not.toMatch(/<script|<link|<img|src=/i);
  });
});

describe('GET /asyncapi.json', () => {
  it("serves the event contract without a login, with this deployment's BUS_PREFIX as the default prefix", async () => {
    const t = await startTestApi({ BUS_PREFIX: 'acme' });
    try {
      const res = await fetch(`${t.url}/asyncapi.json`);
      expect(res.status).toBe(200);
      const doc = (await res.json()) as {
        asyncapi: string;
        channels: Record<string, { address: string; parameters: { prefix: { default: string } } }>;
      };
      expect(doc.asyncapi).toBe('3.0.0');
      expect(doc.channels.mediaIngested).toMatchObject({
        address: '{prefix}.media.ingested',
        parameters: { prefix: { default: 'acme' } },
      });
    } finally {
      await t.stop();
    }
  });
});
