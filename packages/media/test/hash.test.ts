import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { xxh3 } from '@node-rs/xxhash';
import { afterAll, describe, expect, it } from 'vitest';
import { contentHashHex, HASH_CHUNK_BYTES, hashFile } from '../src/index.ts';
import { corpusFiles, corpusPath } from './corpus.ts';

const dir = mkdtempSync(join(tmpdir(), 'lumen-media-hash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Independent computation: one-shot XXH3-128 of the whole buffer. */
const oneShot = (bytes: Uint8Array) => `xxh3-128:${xxh3.xxh128(bytes).toString(16).padStart(32, '0')}`;

describe('hashFile', () => {
  it.each([...corpusFiles('photo').slice(0, 8), ...corpusFiles('raw'), ...corpusFiles('video')])(
    '%s',
    async (file) => {
      const path = corpusPath(file);
      const hash = await hashFile(path);
      expect(hash).toMatch(/^xxh3-128:[0-9a-f]{32}$/);
      expect(hash).toBe(oneShot(readFileSync(path)));
    },
  );

  it('matches across chunk boundaries (sizes around 1 MiB multiples) and for an empty file', async () => {
    const sizes = [
      0,
      1,
      HASH_CHUNK_BYTES - 1,
      HASH_CHUNK_BYTES,
      HASH_CHUNK_BYTES + 1,
      3 * HASH_CHUNK_BYTES + 17,
    ];
    for (const size of sizes) {
      const bytes = Buffer.alloc(size);
      for (let i = 0; i < size; i++) bytes[i] = (i * 131 + (i >> 8)) & 0xff;
      const path = join(dir, `size-${size}.bin`);
      writeFileSync(path, bytes);
      expect(await hashFile(path)).toBe(oneShot(bytes));
    }
  });

  it('streams a file of several chunks (5 MiB + 3 bytes of random data) to the one-shot value', async () => {
    const bytes = randomBytes(5 * HASH_CHUNK_BYTES + 3);
    const path = join(dir, 'random-5mib.bin');
    writeFileSync(path, bytes);
    const hash = await hashFile(path);
    expect(hash).toBe(oneShot(bytes));
    // A change in the last byte changes the hash (the tail past the last full chunk is hashed).
    bytes[bytes.length - 1] = (bytes[bytes.length - 1]! + 1) & 0xff;
    writeFileSync(path, bytes);
    const changed = await hashFile(path);
    expect(changed).not.toBe(hash);
    expect(changed).toBe(oneShot(bytes));
  });

  it('gives the known XXH3-128 test vector and keeps leading zeros', async () => {
    const path = join(dir, 'empty.bin');
    writeFileSync(path, '');
    // XXH3_128bits of zero bytes, seed 0 (xxHash reference): 99aa06d3014798d86001c324468d497f
    expect(await hashFile(path)).toBe('xxh3-128:99aa06d3014798d86001c324468d497f');
    expect(contentHashHex('xxh3-128:0000000000000000000000000000000a')).toBe(
      '0000000000000000000000000000000a',
    );
  });

  it('agrees with xxhsum -H2 when it is installed', async (context) => {
    let output: string;
    try {
      output = execFileSync('xxhsum', ['-H2', corpusPath('photo/exiftool__GE.jpg')], { encoding: 'utf8' });
    } catch {
      context.skip();
      return;
    }
    expect(await hashFile(corpusPath('photo/exiftool__GE.jpg'))).toBe(`xxh3-128:${output.split(/\s+/)[0]}`);
  });

  it('rejects with the path: missing file, directory, over the size limit, aborted', async () => {
    await expect(hashFile('/nonexistent/lumen.jpg')).rejects.toThrow(/\/nonexistent\/lumen\.jpg/);
    await expect(hashFile(dir)).rejects.toThrow(/not a regular file|EISDIR/);
    const path = corpusPath('photo/exiftool__GE.jpg');
    await expect(hashFile(path, { maxBytes: 100 })).rejects.toThrow(/over the 100-byte limit/);
    await expect(hashFile(path, { signal: AbortSignal.abort(new Error('shutdown')) })).rejects.toThrow(
      /hash failed for .*exiftool__GE\.jpg: aborted \(shutdown\)/,
    );
  });
});
