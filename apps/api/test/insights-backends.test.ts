import net from 'node:net';
import {
  type ScriptedOllama,
  type ScriptedOpenRouter,
  startScriptedOllama,
  startScriptedOpenRouter,
} from '@lumen/test-support';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OllamaBackend, OpenRouterBackend } from '../src/services/insights/llm-backends.ts';
import { LlmResponseError, LlmUnavailableError } from '../src/services/insights/llm-errors.ts';

const timeouts = { connectMs: 1000, requestMs: 5000 };
const user = (content: string) => ({ role: 'user' as const, content });

/** A port nothing listens on (bound, then closed). */
async function deadUrl(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

describe('Ollama backend against a scripted Ollama', () => {
  let primary: ScriptedOllama;
  let fallback: ScriptedOllama;
  beforeEach(async () => {
    primary = await startScriptedOllama({
      models: [{ name: 'llava:7b', capabilities: ['completion', 'vision', 'tools'] }],
    });
    fallback = await startScriptedOllama({
      models: [
        { name: 'small:1b', capabilities: ['completion'] },
        { name: 'nomic-embed-text', capabilities: ['embedding'] },
      ],
    });
  });
  afterEach(async () => {
    await primary.close();
    await fallback.close();
  });

  it('streams text and tool calls from /api/chat, with the tools and num_ctx sent', async () => {
    primary.replies.push({
      text: 'Looking it up.',
      toolCalls: [{ name: 'reverse_geocode', arguments: { lat: 42.37, lon: -71.1 } }],
    });
    const backend = new OllamaBackend(
      [{ role: 'primary', url: primary.url, model: 'llava:7b' }],
      timeouts,
      8192,
    );
    const pieces: string[] = [];
    const result = await backend.chat({
      messages: [user('where?')],
      tools: [
        {
          name: 'reverse_geocode',
          description: 'place',
          parameters: { type: 'object', properties: { lat: { type: 'number' } } },
        },
      ],
      onText: (d) => pieces.push(d),
    });
    expect(result).toMatchObject({
      content: 'Looking it up.',
      backend: 'ollama',
      model: 'llava:7b',
      endpoint: 'primary',
    });
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.join('')).toBe('Looking it up.');
    expect(result.toolCalls).toMatchObject([
      { name: 'reverse_geocode', arguments: { lat: 42.37, lon: -71.1 } },
    ]);
    const sent = primary.chatRequests()[0]!.body as {
      stream: boolean;
      tools: unknown[];
      options: { num_ctx: number };
    };
    expect(sent.stream).toBe(true);
    expect(sent.tools).toHaveLength(1);
    expect(sent.options.num_ctx).toBe(8192);
  });

  it('fails over to the fallback (and its model) when the primary cannot be reached', async () => {
    fallback.replies.push({ text: 'from the fallback' });
    const backend = new OllamaBackend(
      [
        { role: 'primary', url: await deadUrl(), model: 'llava:7b' },
        { role: 'fallback', url: fallback.url, model: 'small:1b' },
      ],
      timeouts,
      8192,
    );
    const result = await backend.chat({ messages: [user('hi')] });
    expect(result).toMatchObject({ content: 'from the fallback', endpoint: 'fallback', model: 'small:1b' });
  });

  it('does not fail over when the primary answers with an error (unknown model)', async () => {
    fallback.replies.push({ text: 'never' });
    const backend = new OllamaBackend(
      [
        { role: 'primary', url: primary.url, model: 'missing:1b' },
        { role: 'fallback', url: fallback.url, model: 'small:1b' },
      ],
      timeouts,
      8192,
    );
    const err = await backend.chat({ messages: [user('hi')] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LlmResponseError);
    expect(String((err as Error).message)).toMatch(/missing:1b.*not found/);
    expect(fallback.chatRequests()).toHaveLength(0);
    expect(fallback.replies).toHaveLength(1);
  });

  it('both down: LlmUnavailableError naming each endpoint', async () => {
    const backend = new OllamaBackend(
      [
        { role: 'primary', url: await deadUrl(), model: 'a' },
        { role: 'fallback', url: await deadUrl(), model: 'b' },
      ],
      timeouts,
      8192,
    );
    const err = await backend.chat({ messages: [user('hi')] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LlmUnavailableError);
    expect((err as LlmUnavailableError).reasons).toHaveLength(2);
    expect((err as Error).message).toMatch(/primary.*ECONNREFUSED.*fallback.*ECONNREFUSED/);
  });

  it('a silent server is cut at the request timeout, not hung on', async () => {
    primary.replies.push({ text: 'late', delayMs: 1500 });
    const backend = new OllamaBackend(
      [{ role: 'primary', url: primary.url, model: 'llava:7b' }],
      { connectMs: 1000, requestMs: 300 },
      8192,
    );
    const started = Date.now();
    const err = await backend.chat({ messages: [user('hi')] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LlmResponseError);
    expect(Date.now() - started).toBeLessThan(1400);
  });

  it('a long answer keeps streaming past the request timeout as long as chunks come', async () => {
    primary.replies.push({ text: 'abcdefghij', chunkChars: 1, delayMs: 100 });
    const backend = new OllamaBackend(
      [{ role: 'primary', url: primary.url, model: 'llava:7b' }],
      { connectMs: 1000, requestMs: 400 },
      8192,
    );
    const result = await backend.chat({ messages: [user('hi')] });
    expect(result.content).toBe('abcdefghij');
  });

  it('aborting the signal aborts the HTTP request to Ollama', async () => {
    primary.replies.push({ text: 'partial answer', hang: true });
    const backend = new OllamaBackend(
      [{ role: 'primary', url: primary.url, model: 'llava:7b' }],
      timeouts,
      8192,
    );
    const controller = new AbortController();
    const aborted = primary.nextAbort();
    const done = backend.chat({
      messages: [user('hi')],
      signal: controller.signal,
      onText: () => controller.abort(),
    });
    await expect(done).rejects.toThrow();
    expect((await aborted).aborted).toBe(true);
  });

  it('discovers models and capabilities; embeds with failover', async () => {
    const backend = new OllamaBackend(
      [
        { role: 'primary', url: await deadUrl(), model: 'x' },
        { role: 'fallback', url: fallback.url, model: 'small:1b' },
      ],
      timeouts,
      8192,
    );
    const models = await backend.models({ role: 'primary', url: primary.url, model: 'llava:7b' });
    expect(models).toEqual([
      {
        name: 'llava:7b',
        capabilities: ['completion', 'vision', 'tools'],
        vision: true,
        tools: true,
        embedding: false,
      },
    ]);
    const vectors = await backend.embed('nomic-embed-text', ['hello', 'world']);
    expect(vectors).toHaveLength(2);
    expect(vectors[0]).toHaveLength(32);
  });
});

describe('OpenRouter backend against a scripted OpenAI-style server', () => {
  let remote: ScriptedOpenRouter;
  beforeEach(async () => {
    remote = await startScriptedOpenRouter({
      models: [{ name: 'anthropic/claude-x', capabilities: ['tools'] }, { name: 'other/model' }],
    });
  });
  afterEach(() => remote.close());
  const settings = (over: Record<string, unknown> = {}) => ({
    apiKey: 'sk-or-test',
    baseUrl: remote.url,
    defaultModel: 'anthropic/claude-x',
    allowedModels: ['anthropic/claude-x'],
    referer: 'https://photos.example.org',
    title: 'Lumen test',
    ...over,
  });

  it('assembles tool-call arguments split across SSE chunks and sends the attribution headers', async () => {
    remote.replies.push({
      text: 'Let me check.',
      chunkChars: 3,
      toolCalls: [
        { name: 'reverse_geocode', arguments: { lat: 42.3751, lon: -71.10561 } },
        { name: 'get_photo_metadata', arguments: {} },
      ],
    });
    const backend = new OpenRouterBackend(settings(), timeouts);
    const result = await backend.chat({
      messages: [
        { role: 'system', content: 'sys' },
        { role: 'user', content: 'q', images: ['AAAA'] },
      ],
    });
    expect(result.content).toBe('Let me check.');
    expect(result.toolCalls).toMatchObject([
      { name: 'reverse_geocode', arguments: { lat: 42.3751, lon: -71.10561 } },
      { name: 'get_photo_metadata', arguments: {} },
    ]);
    expect(result.invalidToolCalls).toEqual([]);
    const request = remote.chatRequests()[0]!;
    expect(request.headers.authorization).toBe('Bearer sk-or-test');
    expect(request.headers['http-referer']).toBe('https://photos.example.org');
    expect(request.headers['x-title']).toBe('Lumen test');
    // Vision stays on Ollama: no image goes to OpenRouter.
    expect(JSON.stringify(request.body)).not.toContain('AAAA');
    expect((request.body as { stream: boolean }).stream).toBe(true);
  });

  it('reports an error answer as LlmResponseError and a dead server as unavailable', async () => {
    remote.replies.push({ status: 400, error: 'bad model' });
    const err = await new OpenRouterBackend(settings(), timeouts)
      .chat({ messages: [user('q')] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LlmResponseError);
    const down = await new OpenRouterBackend(settings({ baseUrl: await deadUrl() }), timeouts)
      .chat({ messages: [user('q')] })
      .catch((e: unknown) => e);
    expect(down).toBeInstanceOf(LlmUnavailableError);
  });

  it('aborting mid-stream closes the connection to OpenRouter', async () => {
    remote.replies.push({ text: 'partial', hang: true });
    const controller = new AbortController();
    const aborted = remote.nextAbort();
    const done = new OpenRouterBackend(settings(), timeouts).chat({
      messages: [user('q')],
      signal: controller.signal,
      onText: () => controller.abort(),
    });
    await expect(done).rejects.toThrow();
    expect((await aborted).aborted).toBe(true);
  });

  it('lists the remote models', async () => {
    const models = await new OpenRouterBackend(settings(), timeouts).models();
    expect(models.map((m) => m.id)).toEqual(['anthropic/claude-x', 'other/model']);
  });
});
