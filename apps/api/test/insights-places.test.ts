import {
  type ApolloBehaviour,
  type ScriptedApollo,
  type ScriptedOllama,
  startScriptedApollo,
  startScriptedOllama,
} from '@lumen/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InsightsLibrary, startInsightsLibrary } from './insights-fixture.ts';

const photo = { path: 'tuscany/arezzo.jpg', library: 'main' };
const models = [{ name: 'llava:7b', capabilities: ['completion', 'vision', 'tools'] }];
// biome-ignore lint/suspicious/noExplicitAny: JSON bodies of the scripted servers and the api, read loosely
type Json = Record<string, any>;

const nonna = {
  name: "Nonna's house",
  category: 'family',
  lat: 43.4681,
  lon: 11.8862,
  distance_m: 120,
  notes: 'Sunday lunches',
};
const studio = { name: 'The studio', lat: 43.47, lon: 11.88 };

/** One agentic generation in which the model calls `find_personal_places` with `args`, then answers. */
async function generateCalling(
  lib: InsightsLibrary,
  ollama: ScriptedOllama,
  args: Record<string, unknown>,
  target = photo,
): Promise<{ out: Json; offered: string[]; result: Json; elapsedMs: number }> {
  ollama.replies.push(
    { toolCalls: [{ name: 'find_personal_places', arguments: args }] },
    { text: 'Near home\n\nTaken a street away from where you grew up.' },
  );
  const started = Date.now();
  const out = await lib.json<Json>('POST', '/insights/generate/agentic', target);
  const elapsedMs = Date.now() - started;
  const second = ollama.chatRequests().at(-1)!.body as Json;
  const tool = second.messages.find((m: Json) => m.role === 'tool');
  return {
    out,
    offered: second.tools.map((t: Json) => t.function.name),
    result: JSON.parse(tool.content),
    elapsedMs,
  };
}

describe('personal places from Apollo (APOLLO_API_BASE_URL set)', () => {
  let ollama: ScriptedOllama;
  let apollo: ScriptedApollo;
  let lib: InsightsLibrary;
  beforeAll(async () => {
    ollama = await startScriptedOllama({ models });
    apollo = await startScriptedApollo({
      token: 'apollo-token',
      places: [{ ...nonna, owner: 'dropped' } as typeof nonna, studio],
    });
    lib = await startInsightsLibrary({
      OLLAMA_URL: ollama.url,
      OLLAMA_MODEL: 'llava:7b',
      APOLLO_API_BASE_URL: apollo.url,
      APOLLO_API_TOKEN: 'apollo-token',
      APOLLO_PLACES_TIMEOUT_SECONDS: '0.5',
    });
  });
  afterAll(async () => {
    await lib.close();
    await ollama.close();
    await apollo.close();
  });

  it("is offered and called with the photo's position and the token; the places reach the model and the transcript", async () => {
    const { out, offered, result } = await generateCalling(lib, ollama, {});
    expect(out).toMatchObject({ stop_reason: 'answer', iterations: 2, tool_calls: 1 });
    expect(offered).toContain('find_personal_places');
    const asked = apollo.requests.at(-1)!;
    expect(asked.authorization).toBe('Bearer apollo-token');
    expect(Number(asked.query.lat)).toBeCloseTo(43.467, 2);
    expect(Number(asked.query.lon)).toBeCloseTo(11.885, 2);
    expect(asked.query).toMatchObject({ radius_m: '500', limit: '10' });
    // Fields outside the contract are dropped.
    expect(result.places).toEqual([nonna, studio]);
    expect(result.radius_m).toBe(500);

    const history = await lib.json<Json>(
      'GET',
      '/insights/chat/history?path=tuscany/arezzo.jpg&library=main',
    );
    expect(history.insight_id).toBe(out.insight.id);
    const tool = history.messages.find((m: Json) => m.role === 'tool');
    expect(tool).toMatchObject({ name: 'find_personal_places', truncated: false });
    expect(tool.content).toContain("Nonna's house");
  });

  it('takes a position, a radius and a limit; at most limit places reach the model', async () => {
    const { result } = await generateCalling(lib, ollama, { lat: 40.7, lon: -74, radius_m: 2000, limit: 1 });
    expect(apollo.requests.at(-1)!.query).toEqual({ lat: '40.7', lon: '-74', radius_m: '2000', limit: '1' });
    expect(result).toEqual({ lat: 40.7, lon: -74, radius_m: 2000, places: [nonna] });
  });

  it.each<[string, ApolloBehaviour, RegExp]>([
    ['not JSON', { body: '<html>oops</html>' }, /not JSON/],
    ['places not a list', { body: '{"places":"many"}' }, /unexpected answer: places/],
    ['a place without position', { body: '{"places":[{"name":"x"}]}' }, /unexpected answer: places\.0\.lat/],
    ['an HTTP error', { status: 500 }, /HTTP 500/],
    ['slow (past APOLLO_PLACES_TIMEOUT_SECONDS)', { delayMs: 5000 }, /did not answer within 500 ms/],
  ])('Apollo answering %s: the loop goes on with an error tool result', async (_what, behaviour, reason) => {
    apollo.behaviour = behaviour;
    try {
      const { out, result, elapsedMs } = await generateCalling(lib, ollama, {});
      expect(result.error).toMatch(/personal places lookup \(Apollo\) failed/);
      expect(result.error).toMatch(reason);
      expect(out).toMatchObject({ stop_reason: 'answer', iterations: 2 });
      expect(out.insight.title).toBe('Near home');
      expect(elapsedMs).toBeLessThan(4000);
    } finally {
      apollo.behaviour = {};
    }
  });

  it('bad arguments or a photo without GPS: an error tool result, no call to Apollo', async () => {
    const before = apollo.requests.length;
    const bad = await generateCalling(lib, ollama, { radius_m: -1 });
    expect(bad.result.error).toMatch(/bad arguments: radius_m/);
    const noGps = await generateCalling(lib, ollama, {}, { path: 'noexif.jpg', library: 'main' });
    expect(noGps.result.error).toMatch(/no position/);
    expect(apollo.requests.length).toBe(before);
  });

  it('Apollo down: the loop goes on with an error tool result', async () => {
    await apollo.close();
    const { out, result } = await generateCalling(lib, ollama, {});
    expect(result.error).toMatch(/personal places lookup \(Apollo\) failed: .*ECONNREFUSED/);
    expect(out).toMatchObject({ stop_reason: 'answer', iterations: 2 });
  });
});

describe('personal places without APOLLO_API_BASE_URL', () => {
  let ollama: ScriptedOllama;
  let lib: InsightsLibrary;
  beforeAll(async () => {
    ollama = await startScriptedOllama({ models });
    lib = await startInsightsLibrary({ OLLAMA_URL: ollama.url, OLLAMA_MODEL: 'llava:7b' });
  });
  afterAll(async () => {
    await lib.close();
    await ollama.close();
  });

  it('the tool is not offered; a model that calls it anyway is told there is no such tool', async () => {
    const { offered, result, out } = await generateCalling(lib, ollama, {});
    expect(offered).toContain('reverse_geocode');
    expect(offered).not.toContain('find_personal_places');
    expect(result.error).toMatch(/no tool named "find_personal_places"/);
    expect(out.stop_reason).toBe('answer');
  });
});
