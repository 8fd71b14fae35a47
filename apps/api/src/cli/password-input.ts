/** Where the CLI gets a password: stdin (`--password-stdin`), `LUMEN_PASSWORD`, or a hidden prompt. */

/** The first line of stdin, without its line ending (so `echo pw | cli ...` works). */
export async function readPasswordFromStdin(stdin: NodeJS.ReadableStream = process.stdin): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  const text = Buffer.concat(chunks).toString('utf8');
  return text.split(/\r?\n/, 1)[0] ?? '';
}

export class PromptCancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'PromptCancelledError';
  }
}

/** Ask on the terminal without echoing what is typed. Ctrl-C or Ctrl-D on an empty line cancel. */
export function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  const out = process.stderr;
  return new Promise((resolve, reject) => {
    let value = '';
    const done = (err: Error | undefined) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      out.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return done(undefined);
        if (ch === '\u0003' || (ch === '\u0004' && value === '')) return done(new PromptCancelledError());
        if (ch === '\u007f' || ch === '\b') value = [...value].slice(0, -1).join('');
        else if (ch >= ' ') value += ch;
      }
    };
    out.write(question);
    stdin.setEncoding('utf8');
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', onData);
  });
}
