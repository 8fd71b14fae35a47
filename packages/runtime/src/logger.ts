import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

/** JSON logs to stdout; `LOG_PRETTY`-free on purpose: pipe through `pino-pretty` to read them. */
export function createLogger(opts: { level: string; name: string }): Logger {
  return pino({ level: opts.level, name: opts.name, base: { service: opts.name } });
}
