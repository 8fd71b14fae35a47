import { open } from 'node:fs/promises';
import { xxh3 } from '@node-rs/xxhash';
import { MediaError } from './media-error.ts';

/** Prefix of every content hash this package makes: the algorithm's name. */
export const CONTENT_HASH_ALGORITHM = 'xxh3-128';

/** Bytes per read: 1 MiB (the 64 KiB stream default halves the read rate on these machines). */
export const HASH_CHUNK_BYTES = 1024 * 1024;

/** Default largest file hashFile accepts (see the note on hashFile). */
export const DEFAULT_HASH_MAX_BYTES = 1024 * 1024 * 1024;

export interface HashFileOptions {
  signal?: AbortSignal;
  /** Time limit for the whole file, ms. No limit by default (pass one for network mounts). */
  timeoutMs?: number;
  /** Files larger than this are refused (see the note on hashFile). Default 1 GiB. */
  maxBytes?: number;
}

/** `xxh3-128:<32 lowercase hex>` from the 128-bit digest. */
export function formatContentHash(digest: bigint): string {
  return `${CONTENT_HASH_ALGORITHM}:${digest.toString(16).padStart(32, '0')}`;
}

/** The hex part of a content hash (`xxh3-128:ab12...` -> `ab12...`); throws on anything else. */
export function contentHashHex(contentHash: string): string {
  const match = /^([a-z0-9-]+):([0-9a-f]{16,128})$/.exec(contentHash);
  if (!match?.[2]) throw new Error(`not a content hash: ${JSON.stringify(contentHash)}`);
  return match[2];
}

/**
 * XXH3-128 of a file's bytes, as `xxh3-128:<32 hex>`, identical to `xxhsum -H2` / one-shot xxh128.
 *
 * The file is read in 1 MiB chunks (abortable between chunks). NOTE: @node-rs/xxhash only streams
 * the 64-bit XXH3 (its `Xxh3` class digests to 64 bits); its 128-bit hash is one-shot. So the chunks
 * are gathered into one buffer of the file's size and hashed once (native, many GB/s): memory is the
 * file size, hence `maxBytes`. A streaming 128-bit hasher (e.g. hash-wasm's createXXHash128) gives the
 * same values and would lift the limit without changing any stored hash.
 */
export async function hashFile(absPath: string, options: HashFileOptions = {}): Promise<string> {
  const maxBytes = options.maxBytes ?? DEFAULT_HASH_MAX_BYTES;
  const signals = [options.signal, options.timeoutMs ? AbortSignal.timeout(options.timeoutMs) : undefined];
  const active = signals.filter((signal): signal is AbortSignal => signal !== undefined);
  const signal = active.length > 1 ? AbortSignal.any(active) : active[0];

  const checkAbort = () => {
    if (signal?.aborted) {
      const reason = signal.reason instanceof Error ? signal.reason.message : String(signal.reason);
      throw new MediaError('hash', absPath, `aborted (${reason})`);
    }
  };

  checkAbort();
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(absPath, 'r');
  } catch (error) {
    throw new MediaError('hash', absPath, (error as Error).message, { cause: error });
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new MediaError('hash', absPath, 'not a regular file');
    if (info.size > maxBytes) {
      throw new MediaError('hash', absPath, `file is ${info.size} bytes, over the ${maxBytes}-byte limit`);
    }
    const bytes = Buffer.allocUnsafe(info.size);
    let filled = 0;
    while (filled < info.size) {
      checkAbort();
      const length = Math.min(HASH_CHUNK_BYTES, info.size - filled);
      const { bytesRead } = await handle.read(bytes, filled, length, filled);
      if (bytesRead === 0) throw new MediaError('hash', absPath, 'file shrank while it was read');
      filled += bytesRead;
    }
    const probe = Buffer.alloc(1);
    const { bytesRead: extra } = await handle.read(probe, 0, 1, filled);
    if (extra > 0) throw new MediaError('hash', absPath, 'file grew while it was read');
    checkAbort();
    return formatContentHash(xxh3.xxh128(bytes));
  } catch (error) {
    if (error instanceof MediaError) throw error;
    throw new MediaError('hash', absPath, (error as Error).message, { cause: error });
  } finally {
    await handle.close();
  }
}
