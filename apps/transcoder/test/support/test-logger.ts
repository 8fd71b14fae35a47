import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';

/**
 * A real pino logger that keeps its records (the transcoder's log lines are part of what some tests
 * check, e.g. how many ffmpeg runs started). Printed too when TEST_LOG_LEVEL is set.
 */
export function recordingLogger(): { logger: Logger; records: Record<string, unknown>[] } {
  const records: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) {
        if (line.trim()) records.push(JSON.parse(line) as Record<string, unknown>);
      }
      if (process.env.TEST_LOG_LEVEL) process.stderr.write(chunk);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), records };
}

export const quietBusLogger = { debug() {}, info() {}, warn() {}, error() {} };
