import { type ScriptedOllama, startScriptedOllama } from '@lumen/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InsightsLibrary, readSse, startInsightsLibrary } from './insights-fixture.ts';
import { problemOf } from './test-api.ts';

const photo = { path: 'tuscany/arezzo.jpg', library: 'main' };
const historyUrl = '/insights/chat/history?path=tuscany/arezzo.jpg&library=main';
// biome-ignore lint/suspicious/noExplicitAny: JSON bodies of the scripted server and the api, read loosely
type Json = Record<string, any>;

describe('insight chat continuation', () => {
  let ollama: ScriptedOllama;
  let lib: InsightsLibrary;
  const history = async () => (await lib.json<Json>('GET', historyUrl)).messages as Json[];
  beforeAll(async () => {
    ollama = await startScriptedOllama({
      models: [{ name: 'llava:7b', capabilities: ['completion', 'vision', 'tools'] }],
    });
    lib = await startInsightsLibrary({
      OLLAMA_URL: ollama.url,
      OLLAMA_MODEL: 'llava:7b',
      AGENTIC_CHAT_MAX_ITERATIONS: '2',
      INSIGHTS_HEARTBEAT_SECONDS: '0.05',
      OLLAMA_NUM_CTX: '4096',
    });
    ollama.replies.push({ text: 'Arezzo\n\nAn October afternoon in Arezzo.' });
    await lib.json('POST', '/insights/generate/agentic', photo);
  });
  afterAll(async () => {
    await lib.close();
    await ollama.close();
  });

  it('streams a turn as SSE: iteration_start, tool_call, tool_result, iteration_start, text..., done; with heartbeats', async () => {
    ollama.replies.push(
      { toolCalls: [{ name: 'reverse_geocode', arguments: {} }], delayMs: 150 },
      { text: 'It is Arezzo, in Tuscany.', chunkChars: 5 },
    );
    const res = await lib.send('POST', '/insights/chat/stream', { ...photo, message: 'Where is this?' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const { events, comments } = await readSse(res);
    const names = events.map((e) => e.event);
    expect(names[0]).toBe('iteration_start');
    expect(names.slice(0, 4)).toEqual(['iteration_start', 'tool_call', 'tool_result', 'iteration_start']);
    expect(names.at(-1)).toBe('done');
    expect(names.slice(4, -1).every((n) => n === 'text')).toBe(true);
    expect(
      events
        .filter((e) => e.event === 'text')
        .map((e) => e.data.delta)
        .join(''),
    ).toBe('It is Arezzo, in Tuscany.');
    expect(events[1]!.data).toMatchObject({ name: 'reverse_geocode' });
    expect(String(events[2]!.data.content)).toContain('Arezzo');
    expect(events.at(-1)!.data).toMatchObject({
      stop_reason: 'answer',
      iterations: 2,
      content: 'It is Arezzo, in Tuscany.',
      backend: 'ollama',
    });
    expect(comments).toBeGreaterThan(0);
    const messages = await history();
    expect(messages.slice(-4).map((m) => m.role)).toEqual(['user', 'assistant', 'tool', 'assistant']);
    expect(messages.at(-4)!.content).toBe('Where is this?');
  });

  it('a turn stops at AGENTIC_CHAT_MAX_ITERATIONS', async () => {
    ollama.replies.push(
      { toolCalls: [{ name: 'get_photo_tags', arguments: {} }] },
      { toolCalls: [{ name: 'get_photo_tags', arguments: {} }] },
    );
    const out = await lib.json<Json>('POST', '/insights/chat', { ...photo, message: 'Tags?' });
    expect(out).toMatchObject({ iterations: 2, stop_reason: 'max_iterations' });
    expect(ollama.replies).toHaveLength(0);
  });

  it('a client that disconnects mid-stream aborts the model call, and the turn is not stored', async () => {
    const before = await history();
    ollama.replies.push({ text: 'I am thinking about', hang: true });
    const controller = new AbortController();
    const aborted = ollama.nextAbort();
    const res = await lib.send(
      'POST',
      '/insights/chat/stream',
      { ...photo, message: 'Tell me a long story' },
      controller.signal,
    );
    await readSse(res, (e) => e.event === 'text').catch(() => {});
    controller.abort();
    const request = await aborted;
    expect(request.aborted).toBe(true);
    // The lock is free again and nothing of the turn was written.
    ollama.replies.push({ text: 'Short.' });
    await lib.json('POST', '/insights/chat', { ...photo, message: 'Short one' });
    const after = await history();
    expect(after.length).toBe(before.length + 2);
    expect(after.map((m) => m.content)).not.toContain('Tell me a long story');
  });

  it('two concurrent turns on one insight run one after the other, never interleaved', async () => {
    ollama.replies.push({ text: 'Answer one.', delayMs: 100 }, { text: 'Answer two.', delayMs: 20 });
    const [a, b] = await Promise.all([
      lib.json<Json>('POST', '/insights/chat', { ...photo, message: 'Question one' }),
      lib.json<Json>('POST', '/insights/chat', { ...photo, message: 'Question two' }),
    ]);
    expect([a.content, b.content]).toEqual(['Answer one.', 'Answer two.']);
    const tail = (await history()).slice(-4).map((m) => `${m.role}:${m.content}`);
    expect(tail).toEqual([
      'user:Question one',
      'assistant:Answer one.',
      'user:Question two',
      'assistant:Answer two.',
    ]);
    // The second model call saw the first turn.
    const second = ollama.chatRequests().at(-1)!.body as Json;
    expect(second.messages.map((m: Json) => m.content)).toContain('Answer one.');
  });

  it('rewind drops the last turn (or a named one); index 0 is protected', async () => {
    const before = await history();
    const out = await lib.json<Json>('POST', '/insights/chat/rewind', photo);
    expect(out.removed).toBe(2);
    expect(out.messages).toEqual(before.slice(0, -2));
    expect(await history()).toEqual(before.slice(0, -2));
    const zero = await lib.send('POST', '/insights/chat/rewind', { ...photo, index: 0 });
    expect(zero.status).toBe(400);
    expect((await problemOf(zero)).detail).toMatch(/protected/);
    const notUser = await lib.send('POST', '/insights/chat/rewind', { ...photo, index: 1 });
    expect(notUser.status).toBe(400);
  });

  it('amend writes a new current insight row; the older ones stop being current', async () => {
    const before = await lib.json<Json>('GET', historyUrl);
    ollama.replies.push({ text: 'Arezzo in the rain, 2008.' });
    const out = await lib.json<Json>('POST', '/insights/chat', {
      ...photo,
      message: 'Mention the rain',
      amend: true,
    });
    expect(out.amended).toBe(true);
    expect(out.insight_id).not.toBe(before.insight_id);
    const list = await lib.json<Json>('GET', '/insights?path=tuscany/arezzo.jpg&library=main&all=true');
    expect(list.current).toMatchObject({
      id: out.insight_id,
      summary: 'Arezzo in the rain, 2008.',
      is_current: true,
    });
    expect(list.history.filter((i: Json) => i.is_current).map((i: Json) => i.id)).toEqual([out.insight_id]);
    const after = await lib.json<Json>('GET', historyUrl);
    expect(after.insight_id).toBe(out.insight_id);
    expect(after.messages.slice(0, before.messages.length)).toEqual(before.messages);
    expect(after.messages.slice(-2).map((m: Json) => m.content)).toEqual([
      'Mention the rain',
      'Arezzo in the rain, 2008.',
    ]);
  });

  it('trims the context sent over num_ctx - 2048 (system prompt and first message kept) and says so', async () => {
    const long = (c: string) => c.repeat(7000);
    ollama.replies.push({ text: 'ok 1' }, { text: 'ok 2' });
    await lib.json('POST', '/insights/chat', { ...photo, message: long('a') });
    await lib.json('POST', '/insights/chat', { ...photo, message: long('b') });
    ollama.replies.push({ text: 'ok 3' });
    const res = await lib.send('POST', '/insights/chat/stream', { ...photo, message: 'and now?' });
    const { events } = await readSse(res);
    const truncated = events.find((e) => e.event === 'truncated');
    expect(truncated?.data).toMatchObject({ budget: 2048 });
    expect(Number(truncated!.data.dropped_messages)).toBeGreaterThan(0);
    const sent = (ollama.chatRequests().at(-1)!.body as Json).messages as Json[];
    expect(sent[0]!.role).toBe('system');
    expect(sent[1]!.content).toMatch(/^Photo "tuscany\/arezzo.jpg"/);
    expect(sent.at(-1)!.content).toBe('and now?');
    expect(sent.map((m) => m.content)).not.toContain(long('a'));
    // The stored history keeps everything.
    expect((await history()).map((m) => m.content)).toContain(long('a'));
  });

  it('tool results in the history carry their name and the truncated flag (cutting itself: core insights-logic test)', async () => {
    ollama.replies.push({ toolCalls: [{ name: 'get_photo_metadata', arguments: {} }] }, { text: 'fine' });
    await lib.json('POST', '/insights/chat', { ...photo, message: 'metadata?' });
    const tool = (await history()).filter((m) => m.role === 'tool').at(-1)!;
    expect(tool.truncated).toBe(false);
    expect(tool.name).toBe('get_photo_metadata');
  });

  it('an error mid-stream ends with error_message naming the problem type', async () => {
    ollama.replies.push({ status: 500, error: 'model runner crashed' });
    const res = await lib.send('POST', '/insights/chat/stream', { ...photo, message: 'crash?' });
    const { events } = await readSse(res);
    expect(events.at(-1)).toMatchObject({
      event: 'error_message',
      data: { problem_type: 'https://lumen.dev/problems/llm-error' },
    });
    expect(String(events.at(-1)!.data.message)).toMatch(/model runner crashed/);
  });

  it('asks for a photo by path and library, and a message, like every other route', async () => {
    const res = await lib.send('POST', '/insights/chat', { ...photo, message: '' });
    expect(res.status).toBe(400);
    const noInsight = await lib.send('POST', '/insights/chat/stream', {
      path: 'noexif.jpg',
      library: 'main',
      message: 'hi',
    });
    expect(noInsight.status).toBe(404);
  });
});
