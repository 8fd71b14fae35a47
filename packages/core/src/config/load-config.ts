import fs from 'node:fs';
import path from 'node:path';
import { type Config, parseConfig } from './config.ts';
import { parseDotEnv } from './dotenv.ts';

/** The nearest `.env` in `cwd` or a parent, or undefined. The only file read in core. */
export function findDotEnv(cwd: string): string | undefined {
  let dir = path.resolve(cwd);
  for (;;) {
    const candidate = path.join(dir, '.env');
    if (isFile(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false; // missing or unreadable: not our .env
  }
}

/**
 * Real environment over `.env` (the environment wins), validated.
 * Throws ConfigError; `main.ts` files print it and exit 1.
 */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  cwd = process.cwd(),
): Config {
  const file = findDotEnv(cwd);
  const fromFile = file ? parseDotEnv(fs.readFileSync(file, 'utf8')) : {};
  const merged: Record<string, string | undefined> = { ...fromFile };
  for (const [key, value] of Object.entries(env)) if (value !== undefined) merged[key] = value;
  return parseConfig(merged, cwd);
}
