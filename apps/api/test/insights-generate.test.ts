import {
  type ScriptedOllama,
  type ScriptedOpenRouter,
  startScriptedOllama,
  startScriptedOpenRouter,
} from '@lumen/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadUrl, type InsightsLibrary, startInsightsLibrary } from './insights-fixture.ts';
import { problemOf } from './test-api.ts';

const photo = { path: 'tuscany/arezzo.jpg', library: 'main' };
const models = [
  { name: 'llava:7b', capabilities: ['completion', 'vision', 'tools'] },
  { name: 'nomic-embed-text', capabilities: ['embedding'] },
];
// biome-ignore lint/suspicious/noExplicitAny: JSON bodies of the scripted servers and the api, read loosely
type Json = Record<string, any>;

describe('insights with no backend configured', () => {
  let lib: InsightsLibrary;
  beforeAll(async () => {
    lib = await startInsightsLibrary({});
  });
  afterAll(() => lib.close());

  it('every insight route answers 503 naming the missing setting; the rest of the server works', async () => {
    const q = 'path=tuscany/arezzo.jpg&library=main';
    const calls: [string, string, unknown?][] = [
      ['POST', '/insights/generate', photo],
      ['POST', '/insights/generate/agentic', photo],
      ['GET', `/insights?${q}`],
      ['GET', '/insights/models'],
      ['POST', '/insights/rate', { ...photo, rating: 4 }],
      ['GET', '/insights/openrouter/models'],
      ['POST', '/insights/chat', { ...photo, message: 'hi' }],
      ['POST', '/insights/chat/stream', { ...photo, message: 'hi' }],
      ['GET', `/insights/chat/history?${q}`],
      ['POST', '/insights/chat/rewind', photo],
    ];
    for (const [method, url, body] of calls) {
      const res = await lib.send(method, url, body);
      expect(res.status, `${method} ${url}`).toBe(503);
      const problem = await problemOf(res);
      expect(problem.type).toBe('https://lumen.dev/problems/insights-not-configured');
      expect(problem.detail).toMatch(
        url.includes('openrouter')
          ? /OPENROUTER_API_KEY/
          : /OLLAMA_PRIMARY_URL \(or OLLAMA_URL\) or OPENROUTER_API_KEY/,
      );
    }
    expect((await lib.send('GET', '/health')).status).toBe(200);
    const photos = await lib.json<{ total: number }>('GET', '/photos?library=main&recursive=true');
    expect(photos.total).toBe(3);
  });
});

describe('insights on Ollama', () => {
  let ollama: ScriptedOllama;
  let lib: InsightsLibrary;
  beforeAll(async () => {
    ollama = await startScriptedOllama({ models });
    lib = await startInsightsLibrary({
      OLLAMA_URL: ollama.url,
      OLLAMA_MODEL: 'llava:7b',
      AGENTIC_MAX_ITERATIONS: '3',
    });
  });
  afterAll(async () => {
    await lib.close();
    await ollama.close();
  });

  it('one shot: the preview and the metadata go to the vision model; the answer is stored with title and model', async () => {
    ollama.replies.push({ text: 'Autumn in Arezzo\n\nA quiet street in Tuscany, late October.' });
    const out = await lib.json<Json>('POST', '/insights/generate', photo);
    expect(out.insight).toMatchObject({
      title: 'Autumn in Arezzo',
      summary: 'A quiet street in Tuscany, late October.',
      model: 'llava:7b',
      backend: 'ollama',
      is_current: true,
    });
    expect(out).toMatchObject({ iterations: 1, stop_reason: 'answer', tool_calls: 0 });
    const request = ollama.chatRequests().at(-1)!.body as Json;
    expect(request.tools).toBeUndefined();
    const first = request.messages[1];
    expect(first.role).toBe('user');
    expect(first.content).toContain('"camera":"NIKON COOLPIX P6000"');
    expect(first.content).toContain('43.467');
    expect(first.images).toHaveLength(1);
    // A real JPEG (the preview), base64.
    expect(Buffer.from(first.images[0], 'base64').subarray(0, 2).toString('hex')).toBe('ffd8');
  });

  it('agentic: runs the tools the model asks for (offline geocoding, nearby photos) and stores the transcript', async () => {
    ollama.replies.push(
      {
        toolCalls: [
          { name: 'reverse_geocode', arguments: {} },
          { name: 'find_nearby_photos', arguments: { radius_km: 100, days: 3650 } },
        ],
      },
      { text: 'Arezzo, 2008\n\nTaken near Arezzo; three years earlier you were in Florence.' },
    );
    const out = await lib.json<Json>('POST', '/insights/generate/agentic', photo);
    expect(out).toMatchObject({ iterations: 2, stop_reason: 'answer', tool_calls: 2 });
    expect(out.insight.title).toBe('Arezzo, 2008');
    const second = ollama.chatRequests().at(-1)!.body as Json;
    expect(second.tools.map((t: Json) => t.function.name)).toEqual(
      expect.arrayContaining([
        'get_photo_metadata',
        'get_photo_tags',
        'find_nearby_photos',
        'reverse_geocode',
      ]),
    );
    const toolMessages = second.messages.filter((m: Json) => m.role === 'tool');
    const geo = JSON.parse(toolMessages[0].content);
    expect(geo).toMatchObject({ source: 'gazetteer', nearest: { name: 'Arezzo', country: 'IT' } });
    const nearby = JSON.parse(toolMessages[1].content);
    expect(nearby.photos.map((p: Json) => p.path)).toEqual(['tuscany/florence.jpg']);

    const history = await lib.json<Json>(
      'GET',
      '/insights/chat/history?path=tuscany/arezzo.jpg&library=main',
    );
    expect(history.insight_id).toBe(out.insight.id);
    expect(history.messages.map((m: Json) => m.role)).toEqual([
      'user',
      'assistant',
      'tool',
      'tool',
      'assistant',
    ]);
    expect(history.messages[1].tool_calls.map((c: Json) => c.name)).toEqual([
      'reverse_geocode',
      'find_nearby_photos',
    ]);

    // Regeneration made the one-shot insight history.
    const list = await lib.json<Json>('GET', '/insights?path=tuscany/arezzo.jpg&library=main&all=true');
    expect(list.current.id).toBe(out.insight.id);
    expect(list.history.filter((i: Json) => i.is_current)).toHaveLength(1);
    expect(list.history.length).toBeGreaterThanOrEqual(2);
  });

  it('agentic: stops at AGENTIC_MAX_ITERATIONS', async () => {
    const before = ollama.chatRequests().length;
    for (let i = 0; i < 3; i++)
      ollama.replies.push({ toolCalls: [{ name: 'get_photo_metadata', arguments: {} }] });
    const out = await lib.json<Json>('POST', '/insights/generate/agentic', photo);
    expect(out).toMatchObject({ iterations: 3, stop_reason: 'max_iterations', tool_calls: 3 });
    expect(ollama.chatRequests().length - before).toBe(3);
    expect(ollama.replies).toHaveLength(0);
  });

  it('a tool given bad arguments answers the model with an error instead of failing the turn', async () => {
    ollama.replies.push(
      {
        toolCalls: [
          { name: 'reverse_geocode', arguments: { lat: 'north' } },
          { name: 'no_such_tool', arguments: {} },
        ],
      },
      { text: 'T\n\nDone.' },
    );
    await lib.json('POST', '/insights/generate/agentic', photo);
    const tools = (ollama.chatRequests().at(-1)!.body as Json).messages.filter(
      (m: Json) => m.role === 'tool',
    );
    expect(JSON.parse(tools[0].content).error).toMatch(/bad arguments: lat/);
    expect(JSON.parse(tools[1].content).error).toMatch(/no tool named "no_such_tool"/);
  });

  it('rates the current insight; GET /insights/models lists capabilities', async () => {
    const rated = await lib.json<Json>('POST', '/insights/rate', { ...photo, rating: 5 });
    expect(rated.rating).toBe(5);
    const m = await lib.json<Json>('GET', '/insights/models');
    expect(m.ollama[0]).toMatchObject({ role: 'primary', reachable: true, model: 'llava:7b' });
    expect(m.ollama[0].models[0]).toMatchObject({ name: 'llava:7b', vision: true, tools: true });
    expect(m.chat_backend).toBe('ollama');
    const res = await lib.send('GET', '/insights/openrouter/models');
    expect(res.status).toBe(503);
    expect((await problemOf(res)).detail).toMatch(/OPENROUTER_API_KEY/);
  });

  it('an unknown model is a 502 from the backend, a photo without insight a 404', async () => {
    ollama.replies.push({ text: 'never used' });
    const res = await lib.send('POST', '/insights/generate', { ...photo, model: 'nope:1b' });
    expect(res.status).toBe(502);
    expect((await problemOf(res)).detail).toMatch(/nope:1b.*not found/);
    ollama.replies.length = 0;
    const missing = await lib.send('GET', '/insights/chat/history?path=noexif.jpg&library=main');
    expect(missing.status).toBe(404);
  });
});

describe('insights failover and outage', () => {
  let fallback: ScriptedOllama;
  let lib: InsightsLibrary;
  beforeAll(async () => {
    fallback = await startScriptedOllama({ models: [{ name: 'small:1b', capabilities: ['completion'] }] });
    lib = await startInsightsLibrary({
      OLLAMA_PRIMARY_URL: await deadUrl(),
      OLLAMA_PRIMARY_MODEL: 'llava:7b',
      OLLAMA_FALLBACK_URL: fallback.url,
      OLLAMA_FALLBACK_MODEL: 'small:1b',
    });
  });
  afterAll(async () => {
    await lib.close();
    await fallback.close();
  });

  it('a dead primary fails over to the fallback and its model; both dead is a 503 with the reasons', async () => {
    fallback.replies.push({ text: 'Fallback\n\nWritten by the fallback.' });
    const out = await lib.json<Json>('POST', '/insights/generate', photo);
    expect(out.insight).toMatchObject({ model: 'small:1b', title: 'Fallback' });
    await fallback.close();
    const res = await lib.send('POST', '/insights/generate', photo);
    expect(res.status).toBe(503);
    const problem = await problemOf(res);
    expect(problem.type).toBe('https://lumen.dev/problems/llm-unavailable');
    expect(problem.detail).toMatch(/primary Ollama.*ECONNREFUSED.*fallback Ollama.*ECONNREFUSED/);
  });
});

describe('insights hybrid: OpenRouter for chat and tools, Ollama for vision', () => {
  let ollama: ScriptedOllama;
  let remote: ScriptedOpenRouter;
  let lib: InsightsLibrary;
  beforeAll(async () => {
    ollama = await startScriptedOllama({ models });
    remote = await startScriptedOpenRouter({
      models: [
        { name: 'anthropic/claude-x', capabilities: ['tools'] },
        { name: 'meta/llama-y' },
        { name: 'not/allowed' },
      ],
    });
    lib = await startInsightsLibrary({
      OLLAMA_URL: ollama.url,
      OLLAMA_MODEL: 'llava:7b',
      OPENROUTER_API_KEY: 'sk-or-test',
      OPENROUTER_BASE_URL: remote.url,
      OPENROUTER_MODEL: 'anthropic/claude-x',
      OPENROUTER_ALLOWED_MODELS: 'anthropic/claude-x,meta/llama-y',
      HTTP_REFERER: 'https://photos.example.org',
    });
  });
  afterAll(async () => {
    await lib.close();
    await remote.close();
    await ollama.close();
  });

  it('Ollama describes the image; OpenRouter runs the tool loop with fragmented tool-call arguments', async () => {
    ollama.replies.push({ text: 'A stone street under a grey sky.' });
    remote.replies.push(
      { toolCalls: [{ name: 'reverse_geocode', arguments: { lat: 43.4674, lon: 11.8851 } }], chunkChars: 3 },
      { text: 'Grey Arezzo\n\nA stone street in Arezzo under a grey October sky.' },
    );
    const out = await lib.json<Json>('POST', '/insights/generate/agentic', photo);
    expect(out.insight).toMatchObject({
      backend: 'openrouter',
      model: 'anthropic/claude-x',
      title: 'Grey Arezzo',
    });
    const vision = ollama.chatRequests().at(-1)!.body as Json;
    expect(vision.messages[0].images).toHaveLength(1);
    const [first, second] = remote.chatRequests().map((r) => r.body as Json);
    expect(JSON.stringify(first)).not.toContain('"images"');
    expect(first!.messages[1].content).toContain('A stone street under a grey sky.');
    const toolMessage = second!.messages.find((m: Json) => m.role === 'tool');
    expect(JSON.parse(toolMessage.content).nearest.name).toBe('Arezzo');
    expect(remote.chatRequests()[0]!.headers['http-referer']).toBe('https://photos.example.org');
  });

  it('a model outside the allowlist is a 400; the allowlist is what /insights/openrouter/models shows', async () => {
    const res = await lib.send('POST', '/insights/generate', { ...photo, model: 'not/allowed' });
    expect(res.status).toBe(400);
    expect((await problemOf(res)).detail).toMatch(/OPENROUTER_ALLOWED_MODELS/);
    const list = await lib.json<Json>('GET', '/insights/openrouter/models');
    expect(list.default_model).toBe('anthropic/claude-x');
    expect(list.models.map((m: Json) => m.id)).toEqual(['anthropic/claude-x', 'meta/llama-y']);
    expect(list.models.every((m: Json) => m.available)).toBe(true);
  });

  it('backend=ollama sends chat to Ollama with the image itself', async () => {
    ollama.replies.push({ text: 'Local\n\nWritten locally.' });
    const out = await lib.json<Json>('POST', '/insights/generate', { ...photo, backend: 'ollama' });
    expect(out.insight).toMatchObject({ backend: 'ollama', model: 'llava:7b' });
  });
});
