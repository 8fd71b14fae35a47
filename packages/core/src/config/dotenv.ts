/**
 * A minimal `.env` parser: `KEY=value`, `export KEY=value`, `#` comments (whole lines, or after
 * whitespace in an unquoted value), single quotes (taken literally) and double quotes (which
 * understand \n, \r, \t, \" and \\). A quoted value ends at its closing quote; anything after it
 * (e.g. a comment) is ignored. Values span one line; malformed lines are skipped.
 * Why not Node's own parser (`process.loadEnvFile`): docs/decisions.md, issue 12 item 8.
 */
export function parseDotEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rawLine of text.replace(/^\uFEFF/, '').split(/\r?\n/)) {
    const line = rawLine.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    out[m[1]!] = parseValue(m[2]!);
  }
  return out;
}

function parseValue(value: string): string {
  const quote = value[0];
  if (quote === "'") {
    const end = value.indexOf("'", 1);
    return end > 0 ? value.slice(1, end) : value.slice(1);
  }
  if (quote === '"') {
    let out = '';
    for (let i = 1; i < value.length; i++) {
      const c = value[i]!;
      if (c === '"') return out;
      if (c === '\\' && i + 1 < value.length) {
        const next = value[i + 1]!;
        const escaped = { n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\' }[next];
        if (escaped !== undefined) {
          out += escaped;
          i++;
          continue;
        }
      }
      out += c;
    }
    return out;
  }
  return value.replace(/(^|\s+)#.*$/, '').trim();
}
