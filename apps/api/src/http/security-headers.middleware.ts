import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './app-env.ts';

/**
 * The Content-Security-Policy of every answer that does not set its own: files (originals,
 * thumbnails, previews, HLS playlists and segments, preview clips, GIFs) and JSON. Opened in a
 * browser tab, such an answer may load nothing and run nothing (`default-src 'none'`), and
 * `sandbox` gives it an opaque origin, so even a file a browser would take for HTML could not
 * reach this origin's storage or make same-origin requests. Images and videos still display and
 * play: CSP governs what a document loads, not how it is loaded into another page.
 */
export const FILE_CONTENT_SECURITY_POLICY = "default-src 'none'; sandbox";

/** Sets `X-Content-Type-Options: nosniff` and, unless the route set one, FILE_CONTENT_SECURITY_POLICY. */
export function securityHeaders(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    let headers = c.res.headers;
    try {
      headers.set('X-Content-Type-Options', 'nosniff');
    } catch {
      // Immutable headers (a response passed through from fetch): copy the response first.
      c.res = new Response(c.res.body, c.res);
      headers = c.res.headers;
      headers.set('X-Content-Type-Options', 'nosniff');
    }
    if (!headers.has('Content-Security-Policy')) {
      headers.set('Content-Security-Policy', FILE_CONTENT_SECURITY_POLICY);
    }
  };
}
