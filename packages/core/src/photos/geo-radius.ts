/**
 * Great-circle distances on a spherical Earth (IUGG mean radius), and the latitude/longitude box
 * that contains every point within a radius, so SQL can prefilter with a plain range on an index
 * before the exact test. The box is exact for a sphere (J. P. Matuschek, "Finding Points Within a
 * Distance of a Latitude/Longitude Using Bounding Coordinates"): near a pole the box covers every
 * longitude, and across the antimeridian it is split into two longitude ranges.
 */

export const EARTH_RADIUS_KM = 6371.0088;
/** Half the circumference: no two points on the sphere are further apart. */
export const MAX_GREAT_CIRCLE_KM = Math.PI * EARTH_RADIUS_KM;

const DEG = Math.PI / 180;

export interface GeoPoint {
  lat: number;
  lon: number;
}

export interface GpsRadius extends GeoPoint {
  radiusKm: number;
}

/** Inclusive ranges, in degrees; `lonRanges` has one range, or two when the box crosses ±180°. */
export interface GeoBox {
  minLat: number;
  maxLat: number;
  lonRanges: [number, number][];
}

/**
 * The haversine term h = sin²(Δφ/2) + cos φ1 · cos φ2 · sin²(Δλ/2); distance = 2R · asin(√h).
 * Longitudes may differ by more than 180° (sin² is periodic), so no wrapping is needed.
 */
export function haversineTerm(a: GeoPoint, b: GeoPoint): number {
  const dLat = (b.lat - a.lat) * DEG;
  const dLon = (b.lon - a.lon) * DEG;
  const sinLat = Math.sin(dLat / 2);
  const sinLon = Math.sin(dLon / 2);
  return sinLat * sinLat + Math.cos(a.lat * DEG) * Math.cos(b.lat * DEG) * sinLon * sinLon;
}

/** Great-circle distance in kilometres. */
export function haversineKm(a: GeoPoint, b: GeoPoint): number {
  const h = Math.min(1, Math.max(0, haversineTerm(a, b)));
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.sqrt(h));
}

/**
 * The largest haversine term of a point within `radiusKm`: d <= r exactly when h <= sin²(r / 2R),
 * which SQL can test with sin and cos alone (no asin or sqrt). Null when the radius covers the
 * whole sphere (every point matches).
 */
export function maxHaversineTerm(radiusKm: number): number | null {
  if (radiusKm >= MAX_GREAT_CIRCLE_KM) return null;
  const s = Math.sin(radiusKm / (2 * EARTH_RADIUS_KM));
  return s * s;
}

/** True when `point` is within `radiusKm` of the centre (the rule the SQL filter applies). */
export function isWithinRadius(center: GpsRadius, point: GeoPoint): boolean {
  const max = maxHaversineTerm(center.radiusKm);
  return max === null || haversineTerm(center, point) <= max;
}

/**
 * Latitude/longitude ranges that contain every point within the radius. Slightly generous (by a
 * few micro-degrees) so rounding never drops a point that the exact test would keep.
 */
export function boundingBox(center: GpsRadius): GeoBox {
  const margin = 1e-6;
  const angular = center.radiusKm / EARTH_RADIUS_KM;
  const full: [number, number][] = [[-180, 180]];
  if (angular >= Math.PI) return { minLat: -90, maxLat: 90, lonRanges: full };

  const lat = center.lat * DEG;
  const minLat = lat - angular;
  const maxLat = lat + angular;
  if (maxLat >= Math.PI / 2 || minLat <= -Math.PI / 2) {
    // A pole is inside the circle: every longitude is reachable.
    return {
      minLat: Math.max(-90, minLat / DEG - margin),
      maxLat: Math.min(90, maxLat / DEG + margin),
      lonRanges: full,
    };
  }
  const dLon = Math.asin(Math.sin(angular) / Math.cos(lat)) / DEG + margin;
  const minLon = center.lon - dLon;
  const maxLon = center.lon + dLon;
  let lonRanges: [number, number][];
  if (dLon >= 180) lonRanges = full;
  else if (minLon < -180) {
    lonRanges = [
      [minLon + 360, 180],
      [-180, maxLon],
    ];
  } else if (maxLon > 180) {
    lonRanges = [
      [minLon, 180],
      [-180, maxLon - 360],
    ];
  } else lonRanges = [[minLon, maxLon]];
  return { minLat: minLat / DEG - margin, maxLat: maxLat / DEG + margin, lonRanges };
}

/** True when the point lies inside the box (what the SQL prefilter keeps). */
export function isInBox(box: GeoBox, point: GeoPoint): boolean {
  if (point.lat < box.minLat || point.lat > box.maxLat) return false;
  return box.lonRanges.some(([min, max]) => point.lon >= min && point.lon <= max);
}
