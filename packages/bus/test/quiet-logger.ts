import type { BusLogger } from '../src/index.ts';

/** Keeps what the bus logs (tests provoke failures on purpose) instead of printing it. */
export function quietLogger(): BusLogger & { lines: { level: string; msg: string | undefined }[] } {
  const lines: { level: string; msg: string | undefined }[] = [];
  const keep = (level: string) => (_obj: object, msg?: string) => {
    lines.push({ level, msg });
  };
  return { lines, debug: keep('debug'), info: keep('info'), warn: keep('warn'), error: keep('error') };
}
