import { open } from 'node:fs/promises';
import { createXXHash128 } from 'hash-wasm';
import { MediaError } from './media-error.ts';

/** Prefix of every content hash this package makes: the algorithm's name. */
export const CONTENT_HASH_ALGORITHM = 'xxh3-128';

/** Bytes per read: 1 MiB (the 64 KiB stream default halves the read rate on these machines). */
export const HASH_CHUNK_BYTES = 1024 * 1024;

export interface HashFileOptions {
  signal?: AbortSignal;
  /** Time limit for the whole file, ms. No limit by default (pass one for network mounts). */
  timeoutMs?: number;
  /** Files larger than this are refused. No limit by default (memory use does not depend on the size). */
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
 * XXH3-128 of a file's bytes, as `xxh3-128:<32 hex>`, identical to `xxhsum -H2` and to @node-rs/xxhash's
 * one-shot `xxh3.xxh128` (the values stored before this streamed).
 *
 * Streams: 1 MiB chunks are read into one reused buffer and fed to hash-wasm's XXH3-128 hasher
 * (WebAssembly), so memory stays at one chunk whatever the file size. Abortable between chunks
 * (`signal`, `timeoutMs`). The size is taken when the file is opened; a file that shrinks or grows while
 * it is read is refused rather than given a hash of neither version.
 */
export async function hashFile(absPath: string, options: HashFileOptions = {}): Promise<string> {
  const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
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
    const hasher = await createXXHash128();
    hasher.init();
    const chunk = Buffer.allocUnsafe(Math.min(HASH_CHUNK_BYTES, Math.max(1, info.size)));
    let position = 0;
    while (position < info.size) {
      checkAbort();
      const length = Math.min(chunk.length, info.size - position);
      const { bytesRead } = await handle.read(chunk, 0, length, position);
      if (bytesRead === 0) throw new MediaError('hash', absPath, 'file shrank while it was read');
      hasher.update(chunk.subarray(0, bytesRead)); // copies into the hasher's memory: the buffer is free again
      position += bytesRead;
    }
    const { bytesRead: extra } = await handle.read(chunk, 0, 1, position);
    if (extra > 0) throw new MediaError('hash', absPath, 'file grew while it was read');
    checkAbort();
    return `${CONTENT_HASH_ALGORITHM}:${hasher.digest('hex')}`;
  } catch (error) {
    if (error instanceof MediaError) throw error;
    throw new MediaError('hash', absPath, (error as Error).message, { cause: error });
  } finally {
    await handle.close();
  }
}
