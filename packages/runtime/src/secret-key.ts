import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * The JWT secret for standalone mode when SECRET_KEY is unset: generated once
 * and kept in `<dataDir>/secret.key` (mode 600) so tokens survive restarts.
 */
export async function loadOrCreateSecretKey(dataDir: string): Promise<string> {
  const file = path.join(dataDir, 'secret.key');
  try {
    const existing = (await fs.readFile(file, 'utf8')).trim();
    if (existing.length >= 32) return existing;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await fs.mkdir(dataDir, { recursive: true });
  const key = randomBytes(32).toString('hex');
  await fs.writeFile(file, `${key}\n`, { mode: 0o600 });
  return key;
}
