/**
 * ISO 6709 location strings as QuickTime/MP4 files carry them (`©xyz`, `com.apple.quicktime.location.ISO6709`):
 * `+32.0929+034.8620+028.516/` -> lat 32.0929, lon 34.862, alt 28.516. Decimal-degree form only
 * (the form phones and cameras write); anything else is null.
 */
export interface Iso6709Location {
  lat: number;
  lon: number;
  alt: number | null;
}

const PATTERN = /^\s*([+-]\d{1,2}(?:\.\d+)?)([+-]\d{1,3}(?:\.\d+)?)([+-]\d+(?:\.\d+)?)?(?:CRS[^/]*)?\/?\s*$/;

export function parseIso6709(value: unknown): Iso6709Location | null {
  if (typeof value !== 'string') return null;
  const match = PATTERN.exec(value);
  if (!match) return null;
  const lat = Number(match[1]);
  const lon = Number(match[2]);
  if (!Number.isFinite(lat) || !Number.isFinite(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180)
    return null;
  const alt = match[3] === undefined ? null : Number(match[3]);
  return { lat, lon, alt: alt !== null && Number.isFinite(alt) ? alt : null };
}
