/**
 * Does a file's head look like something a browser could run: HTML, SVG/XML or PDF?
 *
 * Uploads are refused when it does (issue 11): a JPEG/HTML polyglot served under a library name
 * is one content-type mistake (or one old sniffing browser) away from stored cross-site scripting.
 * The answers that serve files carry `X-Content-Type-Options: nosniff` and a sandboxing
 * Content-Security-Policy, which are the main defence; this check keeps such files out of the
 * libraries in the first place.
 *
 * Two rules, on the first SCRIPTABLE_SNIFF_BYTES bytes (browsers sniff no further):
 * 1. At the start, after a UTF-8 byte order mark and whitespace: the patterns of the WHATWG MIME
 *    Sniffing standard that have the "scriptable" flag (`<!DOCTYPE HTML`, `<HTML`, `<SCRIPT`,
 *    `<IFRAME`, `<BODY`, `<A`, `<P`, `<!--`, ... each followed by a space or `>`; `<?xml`;
 *    `%PDF-`), plus `<svg`.
 * 2. Anywhere: an opening tag of an element that runs or loads code or marks a document
 *    (`<html`, `<head`, `<body`, `<script`, `<iframe`, `<svg`, `<object`, `<embed`,
 *    `<!doctype html`, ...) followed by whitespace, `/` or `>`, as older browsers found HTML
 *    anywhere in the first bytes. This is what catches a polyglot that starts as a valid JPEG.
 * Case never matters. Short, common tags (`<p`, `<a`, `<b`) count only at the start: inside
 * binary data two such bytes occur by chance.
 */

/** How many leading bytes are looked at (the WHATWG resource header is at most 1445 bytes; sniffers of old read 256 or 512). */
export const SCRIPTABLE_SNIFF_BYTES = 512;

export type ScriptableVerdict = { scriptable: false } | { scriptable: true; pattern: string; offset: number };

/** WHATWG "scriptable" HTML patterns: matched at the start, case-insensitively, then a tag-terminating byte. */
const START_TAGS = [
  '<!doctype html',
  '<html',
  '<head',
  '<script',
  '<iframe',
  '<h1',
  '<div',
  '<font',
  '<table',
  '<a',
  '<style',
  '<title',
  '<b',
  '<body',
  '<br',
  '<p',
  '<!--',
  '<svg',
];
/** Matched at the start, with no terminator needed. */
const START_PREFIXES = ['<?xml', '%pdf-'];
/** Matched anywhere in the sniffed bytes, then a byte that ends a tag name. */
const ANYWHERE_TAGS = [
  '<!doctype html',
  '<html',
  '<head',
  '<body',
  '<script',
  '<iframe',
  '<frame',
  '<frameset',
  '<svg',
  '<object',
  '<embed',
  '<applet',
  '<meta',
  '<link',
  '<base',
  '<form',
  '<img',
  '<style',
  '<title',
  '<math',
  '<xml',
  '<?xml-stylesheet',
];

/** The WHATWG tag-terminating bytes (space, `>`) at the start. */
const START_TERMINATORS = new Set([0x20, 0x3e]);
/** Bytes that end a tag name for an HTML tokenizer: tab, LF, FF, CR, space, `/`, `>`. */
const TAG_NAME_END = new Set([0x09, 0x0a, 0x0c, 0x0d, 0x20, 0x2f, 0x3e]);
/** Whitespace the WHATWG rules skip before the patterns. */
const LEADING_WHITESPACE = new Set([0x09, 0x0a, 0x0c, 0x0d, 0x20]);

function lowerAscii(byte: number): number {
  return byte >= 0x41 && byte <= 0x5a ? byte + 0x20 : byte;
}

/** `pattern` (lower-case ASCII) at `offset`, case-insensitively. */
function matchesAt(bytes: Uint8Array, offset: number, pattern: string): boolean {
  if (offset + pattern.length > bytes.length) return false;
  for (let i = 0; i < pattern.length; i++) {
    if (lowerAscii(bytes[offset + i] as number) !== pattern.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * The verdict on a file's first bytes (more than SCRIPTABLE_SNIFF_BYTES may be passed; only those
 * are read). A tag at the very end, whose terminator is not among the bytes given, counts: the
 * check must not depend on where the file was cut.
 */
export function sniffScriptable(head: Uint8Array): ScriptableVerdict {
  const bytes = head.subarray(0, SCRIPTABLE_SNIFF_BYTES);
  let start = 0;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3;
  while (start < bytes.length && LEADING_WHITESPACE.has(bytes[start] as number)) start++;

  for (const pattern of START_PREFIXES) {
    if (matchesAt(bytes, start, pattern)) return { scriptable: true, pattern, offset: start };
  }
  for (const pattern of START_TAGS) {
    if (!matchesAt(bytes, start, pattern)) continue;
    const next = bytes[start + pattern.length];
    if (next === undefined || START_TERMINATORS.has(next))
      return { scriptable: true, pattern, offset: start };
  }

  for (let offset = bytes.indexOf(0x3c); offset >= 0; offset = bytes.indexOf(0x3c, offset + 1)) {
    for (const pattern of ANYWHERE_TAGS) {
      if (!matchesAt(bytes, offset, pattern)) continue;
      const next = bytes[offset + pattern.length];
      if (next === undefined || TAG_NAME_END.has(next)) return { scriptable: true, pattern, offset };
    }
  }
  return { scriptable: false };
}
