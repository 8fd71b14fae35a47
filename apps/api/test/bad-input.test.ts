import {
  chatBodySchema,
  encodeCursor,
  generateInsightBodySchema,
  insightQuerySchema,
  rateBodySchema,
  rewindBodySchema,
} from '@lumen/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { PUBLIC_PATHS } from '../src/http/auth.middleware.ts';
import { type PhotoLibrary, startPhotoLibrary } from './photo-library-fixture.ts';
import { problemOf } from './test-api.ts';

interface Operation {
  parameters?: { name: string; in: string; required?: boolean }[];
  requestBody?: { content: Record<string, unknown> };
}
type Paths = Record<string, Record<string, Operation>>;

/** Values no parameter accepts as they are, or that are borderline for some. */
const BAD_VALUES = [
  '',
  ' ',
  '-1',
  '0',
  '1e309',
  'NaN',
  'abc',
  '../../etc/passwd',
  '/etc/passwd',
  '%00',
  '\u0000',
  'a\u0001b',
  '%252e%252e%252f',
  'C:\\Windows',
  '99999999999999999999999',
  'x'.repeat(7_000),
  '[]',
  '{"a":1}',
  '\uD800',
  'true,false',
];

/** Request bodies of the wrong shape. */
const BAD_BODIES: (string | undefined)[] = [
  undefined,
  '',
  'null',
  '[]',
  '"text"',
  '{',
  '{"path":null}',
  '{"path":123,"library":[],"tag_id":"x","tag_name":{}}',
  '{"path":"../../x","tag_name":"a"}',
  '{"items":"x","add":"y","remove":3}',
  '{"items":[null],"add":[null],"remove":[null]}',
  '{"items":[{"path":"a"}],"add":[1.5,-1,0],"remove":["1"]}',
  `{"path":"${'a/'.repeat(3000)}x.jpg","tag_name":"t"}`,
  '{"username":["a"],"password":{}}',
  '{"name":"\\u0000","root":"relative"}',
  '{"path":"a.jpg","kind":"nope"}',
];

/**
 * The input of each `/insights` route that takes one. No LLM backend is configured here, so these
 * routes answer 503 `insights-not-configured`, but only to input their schema accepts: bad input
 * is a 4xx first (SPEC 7, issue 14).
 */
const INSIGHTS_INPUT: Record<string, { in: 'query' | 'body'; schema: z.ZodType }> = {
  'get /insights': { in: 'query', schema: insightQuerySchema },
  'get /insights/chat/history': { in: 'query', schema: insightQuerySchema },
  'post /insights/generate': { in: 'body', schema: generateInsightBodySchema },
  'post /insights/generate/agentic': { in: 'body', schema: generateInsightBodySchema },
  'post /insights/rate': { in: 'body', schema: rateBodySchema },
  'post /insights/chat': { in: 'body', schema: chatBodySchema },
  'post /insights/chat/stream': { in: 'body', schema: chatBodySchema },
  'post /insights/chat/rewind': { in: 'body', schema: rewindBodySchema },
};

/** Whether an `/insights` request's input is valid (read as Hono reads it); routes without input take any. */
function validInsightsInput(method: string, url: string, init: RequestInit): boolean {
  const { pathname, searchParams } = new URL(url, 'http://x');
  const input = INSIGHTS_INPUT[`${method.toLowerCase()} ${pathname}`];
  if (!input) return true;
  if (input.in === 'query') {
    const query: Record<string, string | string[]> = {};
    for (const key of new Set(searchParams.keys())) {
      const all = searchParams.getAll(key);
      query[key] = all.length === 1 ? all[0]! : all;
    }
    return input.schema.safeParse(query).success;
  }
  const contentType = (init.headers as Record<string, string> | undefined)?.['Content-Type'];
  if (contentType !== 'application/json' || typeof init.body !== 'string') return false;
  try {
    return input.schema.safeParse(JSON.parse(init.body)).success;
  } catch {
    return false;
  }
}

/** encodeURIComponent, with a lone surrogate sent as the bytes a broken client would send. */
function encodeParam(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return '%ED%A0%80';
  }
}

describe('malformed input never causes a 500', () => {
  let lib: PhotoLibrary;
  let paths: Paths;

  beforeAll(async () => {
    lib = await startPhotoLibrary();
    paths = (await lib.getJson<{ paths: Paths }>('/openapi.json')).paths;
  });
  afterAll(async () => {
    await lib?.close();
  });

  /** Send, and check the answer is no 5xx and, for errors, problem+json. */
  async function expectNo500(method: string, url: string, init: RequestInit = {}): Promise<number> {
    const res = await fetch(`${lib.t.url}${url}`, {
      method: method.toUpperCase(),
      ...init,
      headers: { ...lib.auth, ...(init.headers as Record<string, string> | undefined) },
    });
    const text = await res.text();
    const what = `${method.toUpperCase()} ${url.slice(0, 200)} -> ${res.status} ${text.slice(0, 300)}`;
    // AI insights answer 503 `insights-not-configured` while no backend is set (issue 14): a
    // deliberate answer naming the setting, not a crash, and only once the input was found valid.
    const insightsOff =
      res.status === 503 && url.startsWith('/insights') && text.includes('insights-not-configured');
    if (insightsOff) {
      expect(validInsightsInput(method, url, init), `bad input answered 503: ${what}`).toBe(true);
    } else {
      expect(res.status, what).toBeLessThan(500);
    }
    // 401 carries its own challenge; 431 (URL over 16 KiB) is Node's own answer, before the app.
    if (res.status >= 400 && res.status !== 401 && res.status !== 431) {
      expect(
        res.headers.get('content-type') ?? '',
        `${method} ${url.slice(0, 120)} -> ${res.status}`,
      ).toMatch(/^application\/problem\+json/);
    }
    return res.status;
  }

  it('every query and path parameter of every documented route, with every bad value', async () => {
    // Each insights route with an input is known to validInsightsInput.
    for (const [template, item] of Object.entries(paths)) {
      for (const [method, op] of Object.entries(item)) {
        if (template.startsWith('/insights') && (op.parameters?.length || op.requestBody)) {
          expect(INSIGHTS_INPUT[`${method} ${template}`], `${method} ${template}`).toBeDefined();
        }
      }
    }
    let requests = 0;
    for (const [template, item] of Object.entries(paths)) {
      for (const [method, op] of Object.entries(item)) {
        if (template === '/login') continue; // rate-limited by design; its bodies are covered below
        const params = op.parameters ?? [];
        for (const value of BAD_VALUES) {
          const encoded = encodeParam(value);
          // Path parameters: each bad value in every slot.
          const url = template.replace(/\{[^}]+\}/g, encoded === '' ? 'x' : encoded);
          for (const param of params.filter((p) => p.in === 'query')) {
            await expectNo500(method, `${url}?${param.name}=${encoded}`);
            // The parameter twice (arrays where a single value is expected).
            await expectNo500(method, `${url}?${param.name}=${encoded}&${param.name}=1`);
            requests += 2;
          }
          if (params.every((p) => p.in !== 'query')) {
            await expectNo500(method, url);
            requests++;
          }
        }
      }
    }
    expect(requests).toBeGreaterThan(500);
  });

  it('every route with a JSON body, with every bad body', async () => {
    let requests = 0;
    for (const [template, item] of Object.entries(paths)) {
      for (const [method, op] of Object.entries(item)) {
        if (!op.requestBody?.content['application/json'] || template === '/login') continue;
        for (const body of BAD_BODIES) {
          await expectNo500(method, template, {
            ...(body === undefined ? {} : { body }),
            headers: { 'Content-Type': 'application/json' },
          });
          await expectNo500(method, template, {
            body: body ?? 'x',
            headers: { 'Content-Type': 'text/plain' },
          });
          requests += 2;
        }
        await expectNo500(method, template, {
          body: JSON.stringify({ path: 'x'.repeat(5_000_000) }),
          headers: { 'Content-Type': 'application/json' },
        });
      }
    }
    expect(requests).toBeGreaterThan(50);
  });

  it('every protected route without a token is a 401', async () => {
    for (const [template, item] of Object.entries(paths)) {
      for (const method of Object.keys(item)) {
        if (PUBLIC_PATHS.has(template)) continue;
        if (/^\/video\/(hls|clip|gif)\//.test(template)) continue; // signed URLs instead of tokens
        const res = await fetch(`${lib.t.url}${template.replace(/\{[^}]+\}/g, 'x')}`, {
          method: method.toUpperCase(),
        });
        expect(res.status, `${method} ${template}`).toBe(401);
      }
    }
  });

  const otherSortCursor = encodeCursor({ s: 'NameAsc', f: 'a', r: 'a', id: 1 });
  // A Shuffle cursor from before shuffle blocks (no block bits m, no block position p).
  const oldShuffleCursor = encodeCursor({ s: 'Shuffle', seed: 'a', k: 1, id: 1 });
  it.each<[string, string, number, string, unknown?]>([
    ['GET', '/photos?limit=0', 400, 'limit'],
    ['GET', '/photos?limit=abc', 400, 'limit'],
    ['GET', '/photos?limit=1.5', 400, 'limit'],
    ['GET', '/photos?sort=Newest', 400, 'sort'],
    ['GET', '/photos?gps_lat=91&gps_lon=0&gps_radius_km=1', 400, 'gps_lat'],
    ['GET', '/photos?gps_lat=abc&gps_lon=0&gps_radius_km=1', 400, 'gps_lat'],
    ['GET', '/photos?gps_lat=10', 400, 'gps_lon'],
    ['GET', '/photos?gps_lat=10&gps_lon=10&gps_radius_km=0', 400, 'gps_radius_km'],
    ['GET', '/photos?gps_lat=10&gps_lon=181&gps_radius_km=5', 400, 'gps_lon'],
    ['GET', '/photos?date_from=2024-13-01', 400, 'date_from'],
    ['GET', '/photos?date_from=yesterday', 400, 'date_from'],
    ['GET', '/photos?date_from=2024-02-30', 400, 'date_from'],
    ['GET', '/photos?date_from=2024-05-02&date_to=2024-05-01', 400, 'date_to'],
    ['GET', '/photos?tag_ids=a', 400, 'tag_ids'],
    ['GET', '/photos?tag_ids=0', 400, 'tag_ids'],
    ['GET', '/photos?tag_ids=,', 400, 'tag_ids'],
    ['GET', '/photos?tag_mode=some', 400, 'tag_mode'],
    ['GET', '/photos?media_type=audio', 400, 'media_type'],
    ['GET', '/photos?favorite=maybe', 400, 'favorite'],
    ['GET', '/photos?recursive=yes', 400, 'recursive'],
    ['GET', '/photos?cursor=garbage!', 400, 'cursor'],
    ['GET', '/photos?cursor=eyJ2IjoxfQ', 400, 'cursor'],
    ['GET', `/photos?sort=Shuffle&cursor=${otherSortCursor}`, 400, 'cursor'],
    ['GET', `/photos?sort=Shuffle&cursor=${oldShuffleCursor}`, 400, 'cursor'],
    ['GET', '/photos?seed=bad!seed&sort=Shuffle', 400, 'seed'],
    ['GET', '/photos?path=../x', 400, 'path'],
    ['GET', '/photos?path=%2Fetc', 400, 'path'],
    ['GET', '/photos?path=a%00b', 400, 'path'],
    ['GET', '/photos?path=a&path=b', 400, 'path'],
    ['GET', '/photos?camera_make=', 400, 'camera_make'],
    ['GET', `/photos?camera_make=${'x'.repeat(201)}`, 400, 'camera_make'],
    ['GET', '/photos?library=nope', 404, 'library'],
    ['GET', '/favorites?limit=0', 400, 'limit'],
    ['GET', '/memories?span=year', 400, 'span'],
    ['GET', '/memories?tz=Nowhere/City', 400, 'tz'],
    ['GET', '/memories?limit_per_year=501', 400, 'limit_per_year'],
    ['GET', '/image/tags', 400, 'path'],
    ['GET', '/image/tags?path=..%2Fx', 400, 'path'],
    ['GET', '/image/tags?path=nope.jpg&library=main', 404, 'path'],
    ['GET', '/image/tags?path=kodak.jpg&library=nope', 404, 'library'],
    ['POST', '/image/tags', 400, 'path', {}],
    ['POST', '/image/tags', 400, 'tag_id', { path: 'kodak.jpg', library: 'main', tag_id: '1' }],
    ['POST', '/image/tags', 400, 'tag_id', { path: 'kodak.jpg', library: 'main', tag_id: 0 }],
    ['POST', '/image/tags', 400, 'tag_name', { path: 'kodak.jpg', library: 'main', tag_name: '   ' }],
    ['POST', '/image/tags', 400, 'tag_name', { path: 'kodak.jpg', library: 'main', tag_name: 'a\u0007b' }],
    [
      'POST',
      '/image/tags',
      400,
      'tag_name',
      { path: 'kodak.jpg', library: 'main', tag_name: 'x'.repeat(101) },
    ],
    ['POST', '/image/tags', 404, 'tag_id', { path: 'kodak.jpg', library: 'main', tag_id: 424242 }],
    ['DELETE', '/image/tags', 404, 'path', { path: 'gone.jpg', library: 'main', tag_id: 1 }],
    ['POST', '/image/tags/batch', 400, 'items', { items: [], add: [1] }],
    ['POST', '/image/tags/batch', 400, 'add', { items: [{ path: 'kodak.jpg' }] }],
    [
      'POST',
      '/image/tags/batch',
      400,
      'add.0',
      { items: [{ path: 'kodak.jpg', library: 'main' }], add: [0] },
    ],
    [
      'POST',
      '/image/tags/batch',
      400,
      'remove.0',
      { items: [{ path: 'kodak.jpg', library: 'main' }], remove: ['x'] },
    ],
    ['POST', '/image/tags/batch', 400, 'items.0.path', { items: [{ path: '../x' }], add: ['a'] }],
    [
      'POST',
      '/image/tags/batch',
      400,
      'items',
      { items: Array.from({ length: 1001 }, (_, i) => ({ path: `${i}.jpg` })), add: ['a'] },
    ],
    [
      'POST',
      '/image/tags/batch',
      400,
      'add',
      { items: [{ path: 'a.jpg' }], add: Array.from({ length: 101 }, (_, i) => i + 1) },
    ],
    ['POST', '/favorites', 400, 'path', { path: '' }],
    ['POST', '/favorites', 400, 'library', { path: 'kodak.jpg', library: '' }],
    ['DELETE', '/favorites', 404, 'path', { path: 'nope.jpg', library: 'main' }],
    // Insights, with no LLM backend configured: bad input is a 4xx before the 503.
    ['GET', '/insights?path=..%2Fx&library=main', 400, 'path'],
    ['GET', '/insights?path=kodak.jpg&library=nope', 404, 'library'],
    ['GET', '/insights/chat/history?path=nope.jpg&library=main', 404, 'path'],
    ['POST', '/insights/generate/agentic', 404, 'path', { path: 'nope.jpg', library: 'main' }],
    ['POST', '/insights/generate', 400, 'backend', { path: 'kodak.jpg', backend: 'gpt' }],
    ['POST', '/insights/rate', 400, 'rating', { path: 'kodak.jpg', library: 'main', rating: 6 }],
    ['POST', '/insights/rate', 404, 'library', { path: 'kodak.jpg', library: 'nope', rating: 5 }],
    ['POST', '/insights/chat', 400, 'message', { path: 'kodak.jpg', library: 'main', message: ' ' }],
    ['POST', '/insights/chat/stream', 404, 'path', { path: 'nope.jpg', library: 'main', message: 'hi' }],
    ['POST', '/insights/chat/rewind', 400, 'index', { path: 'kodak.jpg', library: 'main', index: 0 }],
  ])('%s %s -> %i naming %s', async (method, url, status, name, body) => {
    const res = await lib.send(method, url, body);
    const problem = await problemOf(res);
    expect(problem.status).toBe(status);
    expect(problem.errors?.map((e) => e.name)).toContain(name);
    expect(problem.detail).toContain(name);
  });
});
