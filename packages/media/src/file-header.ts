import fs from 'node:fs/promises';
import { MAGIC_HEADER_BYTES } from '@lumen/core';

/** The first bytes of a file (at least core's MAGIC_HEADER_BYTES), for type detection by magic. */
export async function readFileHeader(absPath: string): Promise<Uint8Array> {
  const handle = await fs.open(absPath, 'r');
  try {
    const buffer = Buffer.alloc(Math.max(256, MAGIC_HEADER_BYTES));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
