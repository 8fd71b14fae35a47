import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The shared, read-only sample corpus and its exiftool reference values (see expected.json's fieldRules). */
export const CORPUS_DIR =
  process.env.LUMEN_CORPUS_DIR ?? join(import.meta.dirname, '../../../fixtures/corpus');

export interface ExpectedPreview {
  extractable: boolean;
  tag: string | null;
  width: number | null;
  height: number | null;
  bytes: number | null;
  candidates: Array<{ tag: string; bytes: number; validJpeg: boolean; width?: number; height?: number }>;
}

export interface ExpectedFile {
  kind: 'photo' | 'raw' | 'video' | 'broken';
  size: number;
  Make: string | null;
  Model: string | null;
  LensModel: string | null;
  DateTimeOriginal: string | null;
  OffsetTimeOriginal: string | null;
  GPSLatitude: number | null;
  GPSLongitude: number | null;
  GPSAltitude: number | null;
  FocalLength: number | null;
  FNumber: number | null;
  ExposureTime: number | null;
  ISO: number | null;
  Orientation: number | null;
  Rotation: number | null;
  Duration: number | null;
  FileType: string | null;
  ImageWidth: number | null;
  ImageHeight: number | null;
  preview: ExpectedPreview;
  thumbnail: ExpectedPreview;
  fieldSources?: Record<string, string>;
}

interface ExpectedJson {
  generator: Record<string, string>;
  fieldRules: Record<string, string>;
  files: Record<string, ExpectedFile>;
}

export const expected: ExpectedJson = JSON.parse(readFileSync(join(CORPUS_DIR, 'expected.json'), 'utf8'));

/** Relative corpus paths (`photo/x.jpg`) of one folder, sorted. */
export function corpusFiles(folder: 'photo' | 'raw' | 'video' | 'broken'): string[] {
  return readdirSync(join(CORPUS_DIR, folder))
    .sort()
    .map((name) => `${folder}/${name}`);
}

export function corpusPath(relative: string): string {
  return join(CORPUS_DIR, relative);
}

export function expectedFor(relative: string): ExpectedFile {
  const entry = expected.files[relative];
  if (!entry) throw new Error(`expected.json has no entry for ${relative}`);
  return entry;
}

/**
 * exiftool's date (`2021:04:11 15:47:53`, optionally with `+02:00`, `Z` or ` DST`) plus its separate
 * OffsetTimeOriginal, as the UTC instant the database stores (naive dates are UTC wall time).
 */
export function expectedInstant(
  date: string,
  offset: string | null,
): { instant: string; offset: string | null } {
  const match = /^(\d{4}):(\d{2}):(\d{2}) (\d{2}):(\d{2}):(\d{2})(Z|[+-]\d{2}:\d{2})?/.exec(date);
  if (!match) throw new Error(`unexpected date form in expected.json: ${date}`);
  const [, y, mo, d, h, mi, s, inline] = match;
  const zone = inline === 'Z' ? '+00:00' : (inline ?? offset);
  const wall = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (!zone) return { instant: new Date(wall).toISOString(), offset: null };
  const sign = zone.startsWith('-') ? -1 : 1;
  const minutes = sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
  return { instant: new Date(wall - minutes * 60_000).toISOString(), offset: inline === 'Z' ? null : zone };
}
