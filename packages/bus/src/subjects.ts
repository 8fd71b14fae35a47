/**
 * Subject rules shared by both transports (NATS syntax): tokens separated by
 * `.`, no empty tokens, no whitespace; `*` matches one token and `>` matches
 * one or more trailing tokens (subscriptions only).
 */

const TOKEN = /^[^\s.*>]+$/;
const JOB_TOKEN = /^[A-Za-z0-9_-]+$/;

/** A concrete subject to publish on: `media.ingested`. */
export function assertEventSubject(subject: string): void {
  if (!subject.split('.').every((token) => TOKEN.test(token))) {
    throw new Error(`invalid subject "${subject}": use non-empty dot-separated tokens without wildcards`);
  }
}

/** A subscription pattern: `media.*`, `library.>`, `media.ingested`. */
export function assertSubjectPattern(pattern: string): void {
  const tokens = pattern.split('.');
  const valid = tokens.every(
    (token, i) => token === '*' || (token === '>' && i === tokens.length - 1) || TOKEN.test(token),
  );
  if (!valid) {
    throw new Error(`invalid subject pattern "${pattern}": use dot-separated tokens, '*', or a final '>'`);
  }
}

/**
 * A job subject: `video.hls`. Stricter than events (letters, digits, `_`, `-`)
 * because it also names the JetStream consumer.
 */
export function assertJobSubject(subject: string): void {
  if (!subject.split('.').every((token) => JOB_TOKEN.test(token))) {
    throw new Error(`invalid job subject "${subject}": use dot-separated tokens of letters, digits, _ and -`);
  }
}

/** Whether `subject` matches the subscription `pattern`. */
export function subjectMatches(pattern: string, subject: string): boolean {
  const want = pattern.split('.');
  const have = subject.split('.');
  for (let i = 0; i < want.length; i++) {
    const token = want[i];
    if (token === '>') return have.length > i;
    if (i >= have.length) return false;
    if (token !== '*' && token !== have[i]) return false;
  }
  return want.length === have.length;
}
