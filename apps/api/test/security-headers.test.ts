import { chromiumTestPath, requireChromium } from '@lumen/test-support';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FILE_CONTENT_SECURITY_POLICY } from '../src/http/security-headers.middleware.ts';
import { DOCS_CONTENT_SECURITY_POLICY } from '../src/routes/docs.routes.ts';
import { type PhotoLibrary, startPhotoLibrary } from './photo-library-fixture.ts';

const CHROMIUM = chromiumTestPath();

/** The two headers every answer carries. */
function securityHeadersOf(res: Response) {
  return {
    nosniff: res.headers.get('x-content-type-options'),
    csp: res.headers.get('content-security-policy'),
  };
}
const FILE_HEADERS = { nosniff: 'nosniff', csp: FILE_CONTENT_SECURITY_POLICY };

describe('X-Content-Type-Options and Content-Security-Policy', () => {
  let lib: PhotoLibrary;
  beforeAll(async () => {
    lib = await startPhotoLibrary();
  });
  afterAll(() => lib?.close());

  const image = (query: string, init: RequestInit = {}) =>
    fetch(`${lib.t.url}/image?${query}`, { ...init, headers: { ...lib.auth, ...init.headers } });

  it('the file policy loads and runs nothing, in a sandbox', () => {
    expect(FILE_CONTENT_SECURITY_POLICY).toBe("default-src 'none'; sandbox");
  });

  it.each([
    ['an original photo', 'library=main&path=2008/canon-40d.jpg&size=full'],
    ['a thumbnail', 'library=main&path=2008/canon-40d.jpg&size=thumb'],
    ['a preview', 'library=main&path=2008/canon-40d.jpg&size=preview'],
    ['a converted format', 'library=main&path=2008/canon-40d.jpg&size=preview&format=webp'],
    ['an original video', 'library=main&path=clips/sample.mp4&size=full'],
    ['a video thumbnail', 'library=main&path=clips/sample.mp4&size=thumb'],
  ])('on %s: 200, HEAD, a range and 304', async (_label, query) => {
    const full = await image(query);
    expect(full.status).toBe(200);
    expect(full.headers.get('content-type')).toMatch(/^(image|video)\//);
    expect(securityHeadersOf(full)).toEqual(FILE_HEADERS);
    await full.arrayBuffer();

    const head = await image(query, { method: 'HEAD' });
    expect(securityHeadersOf(head)).toEqual(FILE_HEADERS);

    const etag = full.headers.get('etag');
    expect(etag).toBeTruthy();
    const cached = await image(query, { headers: { 'If-None-Match': etag! } });
    expect(cached.status).toBe(304);
    expect(securityHeadersOf(cached)).toEqual(FILE_HEADERS);

    if (full.headers.get('accept-ranges') === 'bytes') {
      const part = await image(query, { headers: { Range: 'bytes=0-99' } });
      expect(part.status).toBe(206);
      expect(securityHeadersOf(part)).toEqual(FILE_HEADERS);
      await part.arrayBuffer();
    }
  });

  it('on JSON answers, problems and answers to anonymous requests', async () => {
    const json = await lib.send('GET', '/libraries');
    expect(json.status).toBe(200);
    const problem = await image('library=main&path=nope.jpg');
    expect(problem.status).toBe(404);
    const anonymous = await fetch(`${lib.t.url}/image?library=main&path=2008/canon-40d.jpg`);
    expect(anonymous.status).toBe(401);
    const unknownRoute = await fetch(`${lib.t.url}/no-such-route`);
    const health = await fetch(`${lib.t.url}/health`);
    for (const res of [json, problem, anonymous, unknownRoute, health]) {
      expect(securityHeadersOf(res)).toEqual(FILE_HEADERS);
      await res.arrayBuffer();
    }
  });

  it('/docs has its own policy: its inline style, nothing else', async () => {
    const res = await fetch(`${lib.t.url}/docs`);
    expect(securityHeadersOf(res)).toEqual({ nosniff: 'nosniff', csp: DOCS_CONTENT_SECURITY_POLICY });
    expect(DOCS_CONTENT_SECURITY_POLICY).toMatch(/^default-src 'none'; style-src 'unsafe-inline';/);
    expect(DOCS_CONTENT_SECURITY_POLICY).not.toMatch(/script-src/);
  });

  it('Chromium shows /docs styled under its policy, with no policy violation', async () => {
    await requireChromium(CHROMIUM);
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox'],
      timeout: 30_000,
    });
    try {
      const page = await browser.newPage();
      const console: string[] = [];
      page.on('console', (message) => console.push(message.text()));
      const res = await page.goto(`${lib.t.url}/docs`);
      expect(res?.status()).toBe(200);
      // The inline stylesheet applied: the header band is dark (#1d2430), not the default transparent.
      const headerBackground = await page.evaluate(
        "getComputedStyle(document.querySelector('header')).backgroundColor",
      );
      expect(headerBackground).toBe('rgb(29, 36, 48)');
      expect(console.filter((line) => /Content Security Policy/i.test(line))).toEqual([]);

      // An original opened in a tab is shown (sandboxed, but an image document needs nothing more).
      await page.setExtraHTTPHeaders(lib.auth);
      const photo = await page.goto(`${lib.t.url}/image?library=main&path=2008/canon-40d.jpg&size=thumb`);
      expect(photo?.status()).toBe(200);
      const shown = await page.evaluate(
        "(() => { const img = document.querySelector('img'); return img ? img.naturalWidth : 0; })()",
      );
      expect(shown).toBeGreaterThan(0);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
