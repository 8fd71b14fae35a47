import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ensurePrivateDir, PRIVATE_FILE_MODE } from './private-files.ts';

/**
 * The JWT secret for standalone mode when SECRET_KEY is unset: generated once and kept in
 * `<dataDir>/secret.key` (mode 600, in a 700 DATA_DIR) so tokens survive restarts. An existing key
 * file that others could read is narrowed to 600.
 */
export async function loadOrCreateSecretKey(dataDir: string): Promise<string> {
  const file = path.join(dataDir, 'secret.key');
  try {
    const existing = (await fs.readFile(file, 'utf8')).trim();
    if (existing.length >= 32) {
      const { mode } = await fs.stat(file);
      if ((mode & 0o077) !== 0) await fs.chmod(file, PRIVATE_FILE_MODE);
      return existing;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await ensurePrivateDir(dataDir, { tighten: false });
  const key = randomBytes(32).toString('hex');
  // Written to a new file (never through a link an attacker left there), then moved into place.
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  await fs.writeFile(temp, `${key}\n`, { mode: PRIVATE_FILE_MODE, flag: 'wx' });
  await fs.chmod(temp, PRIVATE_FILE_MODE);
  await fs.rename(temp, file);
  return key;
}
