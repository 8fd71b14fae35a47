import { describe, expect, it } from 'vitest';
import { allowedMethods, routePatternToRegExp } from '../src/http/error-handlers.ts';
import { kindForStatus, problemBody, problemCatalog, problemResponse } from '../src/http/problem.ts';

describe('problem catalog', () => {
  it('gives every kind a stable type URI under https://lumen.dev/problems/', () => {
    for (const kind of Object.keys(problemCatalog) as (keyof typeof problemCatalog)[]) {
      expect(problemBody(kind, 'x').type).toBe(`https://lumen.dev/problems/${kind}`);
    }
  });

  it.each([
    [400, 'bad-request'],
    [401, 'unauthorized'],
    [404, 'not-found'],
    [405, 'method-not-allowed'],
    [413, 'payload-too-large'],
    [429, 'rate-limited'],
    [418, 'bad-request'],
    [500, 'internal'],
    [502, 'internal'],
    [503, 'unavailable'],
  ])('maps status %i to %s', (status, kind) => {
    expect(kindForStatus(status)).toBe(kind);
  });

  it('builds a problem+json response, leaving out empty optional members', async () => {
    const res = problemResponse('not-found', 'nothing here', {
      instance: '/x',
      errors: [],
      headers: { 'X-A': '1' },
    });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.headers.get('x-a')).toBe('1');
    expect(await res.json()).toEqual({
      type: 'https://lumen.dev/problems/not-found',
      title: 'Not found',
      status: 404,
      detail: 'nothing here',
      instance: '/x',
    });
  });
});

describe('405 detection', () => {
  it.each([
    ['/users/:id', '/users/42', true],
    ['/users/:id', '/users/42/', true],
    ['/users/:id', '/users', false],
    ['/users/:id', '/users/42/tags', false],
    ['/files/*', '/files/a/b/c', true],
    ['/a.b', '/aXb', false],
    ['/image/tags/all', '/image/tags/all', true],
  ])('pattern %s matches %s: %s', (pattern, path, matches) => {
    expect(routePatternToRegExp(pattern).test(path)).toBe(matches);
  });

  it('lists the methods of every route on the path, HEAD with GET, ignoring middleware', () => {
    const handler = () => undefined;
    const routes = [
      { method: 'ALL', path: '*', basePath: '/', handler },
      { method: 'GET', path: '/photos/:id', basePath: '/', handler },
      { method: 'DELETE', path: '/photos/:id', basePath: '/', handler },
      { method: 'POST', path: '/photos', basePath: '/', handler },
    ];
    expect(allowedMethods(routes, '/photos/7')).toEqual(['DELETE', 'GET', 'HEAD']);
    expect(allowedMethods(routes, '/photos')).toEqual(['POST']);
    expect(allowedMethods(routes, '/nothing')).toEqual([]);
  });
});
