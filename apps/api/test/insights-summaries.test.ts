import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SummaryVectorsRepository } from '@lumen/db';
import {
  type ScriptedOllama,
  type ScriptedSms,
  startScriptedOllama,
  startScriptedSms,
} from '@lumen/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InsightsLibrary, startInsightsLibrary } from './insights-fixture.ts';

// The CLI runs in ONE process (node with tsx's loader), not under the tsx launcher, which runs the
// script in a child: a SIGKILL of the launcher would leave that child running with its requests.
const tsxLoader = new URL('../../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;
const cli = fileURLToPath(new URL('../src/insights-cli.ts', import.meta.url));
// biome-ignore lint/suspicious/noExplicitAny: JSON bodies read loosely
type Json = Record<string, any>;

const msg = (contact: string, time: string, body: string, direction: 'in' | 'out' = 'in') => ({
  contact,
  timestamp: time,
  direction,
  body,
});

function runCli(
  args: string[],
  env: Record<string, string>,
  cwd: string,
): { child: ChildProcess; done: Promise<{ code: number | null; signal: string | null; out: string }> } {
  const child = spawn(process.execPath, ['--import', tsxLoader, cli, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += String(d)));
  child.stderr!.on('data', (d) => (out += String(d)));
  const done = new Promise<{ code: number | null; signal: string | null; out: string }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, out })),
  );
  return { child, done };
}

describe('daily conversation summaries and conversation search', () => {
  let ollama: ScriptedOllama;
  let sms: ScriptedSms;
  let lib: InsightsLibrary;
  let env: Record<string, string>;
  beforeAll(async () => {
    ollama = await startScriptedOllama({
      models: [
        { name: 'llava:7b', capabilities: ['completion', 'vision', 'tools'] },
        { name: 'nomic-embed-text', capabilities: ['embedding'] },
      ],
    });
    // Vectors by topic, so what is nearest is known.
    ollama.embed = (input) =>
      /picnic/i.test(input) ? [1, 0, 0] : /bike|bicycle/i.test(input) ? [0, 1, 0] : [0, 0, 1];
    sms = await startScriptedSms('sms-token', {
      '2008-10-21': [
        msg('Ann', '2008-10-21T09:00:00Z', 'Picnic tomorrow in Arezzo?'),
        msg('Ann', '2008-10-21T09:05:00Z', 'Yes!', 'out'),
        msg('Bob', '2008-10-21T18:00:00Z', 'Bike is fixed'),
      ],
      '2008-10-22': [msg('Ann', '2008-10-22T20:00:00Z', 'Lovely day')],
      '2008-10-23': [msg('Carl', '2008-10-23T10:00:00Z', 'Meeting moved')],
    });
    const base = {
      OLLAMA_URL: ollama.url,
      OLLAMA_MODEL: 'llava:7b',
      SMS_API_URL: sms.url,
      SMS_API_TOKEN: 'sms-token',
    };
    lib = await startInsightsLibrary(base);
    env = { ...base, DATA_DIR: path.join(lib.base, 'data'), LOG_LEVEL: 'info' };
  });
  afterAll(async () => {
    await lib.close();
    await sms.close();
    await ollama.close();
  });

  it('a killed run resumes where it stopped; nothing is summarised twice', async () => {
    const repo = new SummaryVectorsRepository(lib.t.database.db, lib.t.database.kind);
    // Days sorted, contacts sorted: Ann 21, Bob 21, Ann 22 (hangs: the run is killed there), Carl 23.
    ollama.replies.push(
      { text: 'Ann proposes a picnic in Arezzo.' },
      { text: 'Bob says the bike is fixed.' },
      { text: 'never finished', hang: true },
    );
    const first = runCli(['summaries', '--from', '2008-10-21', '--to', '2008-10-23'], env, lib.base);
    const stuck = ollama.nextAbort();
    for (let i = 0; i < 600 && ollama.chatRequests().length < 3; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(ollama.chatRequests()).toHaveLength(3);
    first.child.kill('SIGKILL');
    expect((await first.done).signal).toBe('SIGKILL');
    await stuck;
    expect(await repo.count()).toBe(2);

    ollama.replies.length = 0;
    ollama.replies.push(
      { text: 'A lovely day with Ann after the picnic.' },
      { text: 'Carl moved the meeting.' },
    );
    const second = runCli(['summaries', '--from', '2008-10-21', '--to', '2008-10-23'], env, lib.base);
    const result = await second.done;
    expect(result.code, result.out).toBe(0);
    expect(await repo.count()).toBe(4);
    expect(ollama.chatRequests()).toHaveLength(5);
    expect(ollama.replies).toHaveLength(0);
    // Progress lines with counts and rate.
    const progress = result.out
      .split('\n')
      .filter((l) => l.includes('conversation summaries progress'))
      .map((l) => JSON.parse(l) as Json);
    expect(progress.map((p) => p.days)).toEqual(['1/3', '2/3', '3/3']);
    expect(progress[0]).toMatchObject({ summarised: 0, skipped: 2 });
    expect(progress[2]).toMatchObject({ summarised: 2, skipped: 2 });
    expect(typeof progress[2]!.perMinute).toBe('number');

    // Once more: everything is done, no model call.
    const third = await runCli(['summaries', '--from', '2008-10-21', '--to', '2008-10-23'], env, lib.base)
      .done;
    expect(third.code).toBe(0);
    expect(ollama.chatRequests()).toHaveLength(5);
  }, 180_000);

  it('the CLI refuses a bad range with a usage error', async () => {
    const bad = await runCli(['summaries', '--from', '2008-10-23', '--to', '2008-10-21'], env, lib.base).done;
    expect(bad.code).toBe(2);
    expect(bad.out).toMatch(/Usage/);
  }, 60_000);

  it('search_conversations finds the nearest summaries for the agentic loop', async () => {
    ollama.replies.push(
      { toolCalls: [{ name: 'search_conversations', arguments: { query: 'the picnic', limit: 2 } }] },
      { text: 'Picnic day\n\nThe day of the picnic with Ann.' },
    );
    const out = await lib.json<Json>('POST', '/insights/generate/agentic', {
      path: 'tuscany/arezzo.jpg',
      library: 'main',
    });
    expect(out.insight.title).toBe('Picnic day');
    const tool = (ollama.chatRequests().at(-1)!.body as Json).messages.find((m: Json) => m.role === 'tool');
    const results = JSON.parse(tool.content).results as Json[];
    expect(results).toHaveLength(2);
    expect(results.map((r) => r.summary)).toEqual(
      expect.arrayContaining(['Ann proposes a picnic in Arezzo.', 'A lovely day with Ann after the picnic.']),
    );
    expect(results[0]!.score).toBeCloseTo(1);
  });
});
