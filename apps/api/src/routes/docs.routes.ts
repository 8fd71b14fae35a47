import { createRoute, z } from '@hono/zod-openapi';
import { buildAsyncApiDocument } from '@lumen/core';
import type { App } from '../http/app-env.ts';
import { type OpenApiDocumentLike, renderApiReferencePage } from '../services/api-reference-page.ts';

export const API_TITLE = 'Lumen API';
export const API_VERSION = '0.1.0';
const API_DESCRIPTION =
  'Self-hosted media server. Sign in with `POST /login` and send the token as `Authorization: Bearer <token>` on every other request (except /health, /metrics, /docs, /openapi.json and /asyncapi.json). Errors are `application/problem+json` with a stable `type`.';

/**
 * The page's own policy (instead of the sandbox every other answer gets): its inline stylesheet,
 * nothing else; no scripts, no frames, no forms.
 */
export const DOCS_CONTENT_SECURITY_POLICY =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const openApiRoute = createRoute({
  method: 'get',
  path: '/openapi.json',
  tags: ['system'],
  summary: 'This API as an OpenAPI 3.1 document (generated from the validation schemas)',
  responses: {
    200: {
      description: 'OpenAPI 3.1',
      content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } },
    },
  },
});

const asyncApiRoute = createRoute({
  method: 'get',
  path: '/asyncapi.json',
  tags: ['system'],
  summary:
    'The NATS subjects, payloads and delivery guarantees as an AsyncAPI 3 document (for event consumers)',
  responses: {
    200: {
      description: "AsyncAPI 3.0, with this deployment's BUS_PREFIX as the default of `prefix`",
      content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } },
    },
  },
});

const docsRoute = createRoute({
  method: 'get',
  path: '/docs',
  tags: ['system'],
  summary: 'The API reference as a readable HTML page',
  responses: { 200: { description: 'HTML page', content: { 'text/html': { schema: z.string() } } } },
});

/** The OpenAPI 3.1 document of every route registered on `app`, with the bearer security scheme. */
export function openApiDocument(app: App): OpenApiDocumentLike & Record<string, unknown> {
  return app.getOpenAPI31Document({
    openapi: '3.1.0',
    info: { title: API_TITLE, version: API_VERSION, description: API_DESCRIPTION },
  }) as unknown as OpenApiDocumentLike & Record<string, unknown>;
}

/**
 * `GET /openapi.json`, `GET /asyncapi.json` and `GET /docs` (all public). The OpenAPI document is
 * made on first use, when every route is registered, and kept.
 */
export function registerDocsRoutes(app: App, opts: { busPrefix: string }): void {
  const asyncApi = buildAsyncApiDocument({ prefix: opts.busPrefix });
  let document: (OpenApiDocumentLike & Record<string, unknown>) | undefined;
  let page: string | undefined;
  const doc = () => {
    document ??= openApiDocument(app);
    return document;
  };

  app.openapi(openApiRoute, (c) => {
    c.header('Cache-Control', 'no-cache');
    return c.json(doc(), 200);
  });

  app.openapi(asyncApiRoute, (c) => {
    c.header('Cache-Control', 'no-cache');
    return c.json(asyncApi, 200);
  });

  app.openapi(docsRoute, (c) => {
    page ??= renderApiReferencePage(doc());
    c.header('Cache-Control', 'no-cache');
    c.header('Content-Security-Policy', DOCS_CONTENT_SECURITY_POLICY);
    return c.html(page, 200);
  });
}
