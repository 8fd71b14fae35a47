/**
 * docs/events.md shows an example consumer of our NATS subjects. This runs exactly the code of
 * that page (its first ts block) against the real NATS server, under a fresh prefix, and sends it
 * events through our own typed bus: the example prints the one it understands and skips a payload
 * of an unknown version.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createNatsBus, typedBus } from '../src/index.ts';
import { quietLogger } from './quiet-logger.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const servers = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
let child: ChildProcess | undefined;
let scriptFile: string | undefined;
afterEach(() => {
  child?.kill('SIGKILL');
  child = undefined;
  if (scriptFile) fs.rmSync(scriptFile, { force: true });
});

function exampleCode(): string {
  const page = fs.readFileSync(path.join(here, '..', '..', '..', 'docs', 'events.md'), 'utf8');
  const block = /```ts\n([\s\S]*?)```/.exec(page);
  if (!block) throw new Error('docs/events.md has no ts code block');
  return block[1]!;
}

describe('the example consumer of docs/events.md', () => {
  it('prints media.ingested events sent by Lumen, and skips a version it does not know', async () => {
    const prefix = `doc_${randomBytes(4).toString('hex')}`;
    // Inside this package, so its imports resolve against this package's dependencies.
    scriptFile = path.join(here, `.events-doc-example-${prefix}.ts`);
    fs.writeFileSync(scriptFile, exampleCode());
    // node with tsx's loader, in one process: the tsx launcher would run the script in a child
    // that outlives the launcher's SIGKILL.
    const tsxLoader = pathToFileURL(
      path.join(here, '..', '..', '..', 'node_modules', 'tsx', 'dist', 'loader.mjs'),
    ).href;
    child = spawn(process.execPath, ['--import', tsxLoader, scriptFile], {
      env: { ...process.env, BUS_PREFIX: prefix, NATS_URL: servers },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout!.on('data', (chunk) => {
      out += String(chunk);
    });
    child.stderr!.on('data', (chunk) => {
      err += String(chunk);
    });
    const waitFor = async (text: string) => {
      const deadline = Date.now() + 20_000;
      while (!out.includes(text)) {
        if (Date.now() > deadline) throw new Error(`the example did not print "${text}": ${out} ${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await waitFor('listening');

    const raw = await createNatsBus({ servers, prefix, logger: quietLogger(), connectTimeoutMs: 3_000 });
    const bus = typedBus(raw, quietLogger());
    try {
      const event = {
        libraryId: 1,
        library: 'photos',
        relPath: '2024/a.jpg',
        contentHash: `xxh3-128:${'ab'.repeat(16)}`,
        mediaType: 'photo' as const,
        sizeBytes: 10,
        isNew: true,
        at: '2024-05-01T10:00:00.000Z',
      };
      await raw.publish('media.ingested', { ...event, relPath: 'future.jpg', v: 2 });
      await bus.publish('media.ingested', event);
      await waitFor('2024/a.jpg');
      expect(out).toContain(`new photo photos:2024/a.jpg xxh3-128:${'ab'.repeat(16)}`);
      expect(out).not.toContain('future.jpg');
    } finally {
      await raw.close();
    }
  });
});
