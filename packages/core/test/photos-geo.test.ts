import { describe, expect, it } from 'vitest';
import {
  boundingBox,
  EARTH_RADIUS_KM,
  type GeoPoint,
  haversineKm,
  isInBox,
  isWithinRadius,
  MAX_GREAT_CIRCLE_KM,
  maxHaversineTerm,
} from '../src/index.ts';

const DEG = Math.PI / 180;

/** Independent reference: the angle between the two unit vectors (atan2 of cross and dot). */
function vectorDistanceKm(a: GeoPoint, b: GeoPoint): number {
  const v = (p: GeoPoint) => [
    Math.cos(p.lat * DEG) * Math.cos(p.lon * DEG),
    Math.cos(p.lat * DEG) * Math.sin(p.lon * DEG),
    Math.sin(p.lat * DEG),
  ];
  const [ax, ay, az] = v(a) as [number, number, number];
  const [bx, by, bz] = v(b) as [number, number, number];
  const cross = Math.hypot(ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx);
  const dot = ax * bx + ay * by + az * bz;
  return Math.atan2(cross, dot) * EARTH_RADIUS_KM;
}

/** The point `distanceKm` from `start` on initial bearing `bearingDeg` (standard destination formula). */
function destination(start: GeoPoint, bearingDeg: number, distanceKm: number): GeoPoint {
  const d = distanceKm / EARTH_RADIUS_KM;
  const t = bearingDeg * DEG;
  const lat1 = start.lat * DEG;
  const lat2 = Math.asin(Math.sin(lat1) * Math.cos(d) + Math.cos(lat1) * Math.sin(d) * Math.cos(t));
  const lon2 =
    start.lon * DEG +
    Math.atan2(Math.sin(t) * Math.sin(d) * Math.cos(lat1), Math.cos(d) - Math.sin(lat1) * Math.sin(lat2));
  const lon = ((((lon2 / DEG + 180) % 360) + 360) % 360) - 180;
  return { lat: lat2 / DEG, lon };
}

describe('haversineKm', () => {
  const quarter = (Math.PI / 2) * EARTH_RADIUS_KM;
  it.each([
    ['same point', { lat: 48.8566, lon: 2.3522 }, { lat: 48.8566, lon: 2.3522 }, 0],
    ['equator quarter', { lat: 0, lon: 0 }, { lat: 0, lon: 90 }, quarter],
    ['pole to pole', { lat: 90, lon: 0 }, { lat: -90, lon: 0 }, MAX_GREAT_CIRCLE_KM],
    ['antipodes on the equator', { lat: 0, lon: 0 }, { lat: 0, lon: 180 }, MAX_GREAT_CIRCLE_KM],
    [
      'one degree across the antimeridian',
      { lat: 0, lon: 179.5 },
      { lat: 0, lon: -179.5 },
      DEG * EARTH_RADIUS_KM,
    ],
    ['pole, any longitude', { lat: 90, lon: 0 }, { lat: 90, lon: 123 }, 0],
    ['Paris to London', { lat: 48.8566, lon: 2.3522 }, { lat: 51.5074, lon: -0.1278 }, 343.56],
    ['Sydney to Santiago', { lat: -33.8688, lon: 151.2093 }, { lat: -33.4489, lon: -70.6693 }, 11_342],
  ])('%s', (_name, a, b, expected) => {
    const km = haversineKm(a, b);
    expect(km).toBeCloseTo(vectorDistanceKm(a, b), 6);
    expect(Math.abs(km - expected)).toBeLessThan(Math.max(1e-6, expected * 1e-3));
    expect(haversineKm(b, a)).toBeCloseTo(km, 9);
  });
});

describe('maxHaversineTerm and isWithinRadius', () => {
  it.each([
    [0.001, false],
    [10, false],
    [MAX_GREAT_CIRCLE_KM - 1, false],
    [MAX_GREAT_CIRCLE_KM, true],
    [1e9, true],
  ])('radius %d km covers the whole sphere: %s', (radiusKm, whole) => {
    expect(maxHaversineTerm(radiusKm) === null).toBe(whole);
  });

  it.each([
    [{ lat: 45, lon: 7, radiusKm: 10 }, 0, 9.999, true],
    [{ lat: 45, lon: 7, radiusKm: 10 }, 90, 10.001, false],
    [{ lat: -89.99, lon: 0, radiusKm: 5 }, 180, 4.99, true],
    [{ lat: 0, lon: 179.99, radiusKm: 10 }, 90, 9.99, true],
    [{ lat: 0, lon: 179.99, radiusKm: 10 }, 90, 10.01, false],
  ])('%j: a point %d° / %d km away is inside: %s', (center, bearing, km, inside) => {
    expect(isWithinRadius(center, destination(center, bearing, km))).toBe(inside);
  });
});

describe('boundingBox', () => {
  it.each([
    ['mid-latitude, one range', { lat: 45, lon: 7, radiusKm: 10 }, 1, false],
    ['near the north pole: every longitude', { lat: 89.95, lon: 30, radiusKm: 10 }, 1, true],
    ['near the south pole: every longitude', { lat: -89.95, lon: -30, radiusKm: 10 }, 1, true],
    ['east of the antimeridian: two ranges', { lat: 10, lon: 179.99, radiusKm: 10 }, 2, false],
    ['west of the antimeridian: two ranges', { lat: -10, lon: -179.99, radiusKm: 10 }, 2, false],
    ['a radius beyond half the circumference', { lat: 0, lon: 0, radiusKm: 30_000 }, 1, true],
  ])('%s', (_name, center, ranges, allLongitudes) => {
    const box = boundingBox(center);
    expect(box.lonRanges).toHaveLength(ranges);
    expect(box.lonRanges[0]?.[0] === -180 && box.lonRanges[0]?.[1] === 180).toBe(allLongitudes);
    for (const [min, max] of box.lonRanges) {
      expect(min).toBeGreaterThanOrEqual(-180);
      expect(max).toBeLessThanOrEqual(180);
    }
    expect(box.minLat).toBeGreaterThanOrEqual(-90);
    expect(box.maxLat).toBeLessThanOrEqual(90);
  });

  it('contains every point of the circle, for centres everywhere (poles and antimeridian included)', () => {
    const centres: GeoPoint[] = [
      { lat: 0, lon: 0 },
      { lat: 48.85, lon: 2.35 },
      { lat: 89.9, lon: 0 },
      { lat: -89.9, lon: 100 },
      { lat: 70, lon: 179.9 },
      { lat: -45, lon: -179.95 },
      { lat: 60, lon: -180 },
      { lat: 0, lon: 180 },
    ];
    for (const centre of centres) {
      for (const radiusKm of [0.01, 1, 10, 100, 1000, 5000]) {
        const box = boundingBox({ ...centre, radiusKm });
        for (let bearing = 0; bearing < 360; bearing += 5) {
          for (const fraction of [0.5, 0.999999]) {
            const point = destination(centre, bearing, radiusKm * fraction);
            expect(isInBox(box, point), JSON.stringify({ centre, radiusKm, bearing, point })).toBe(true);
            expect(isWithinRadius({ ...centre, radiusKm }, point)).toBe(true);
          }
        }
      }
    }
  });

  it('is tight: points just beyond the radius along the axes fall outside the box', () => {
    const centre = { lat: 45, lon: 7, radiusKm: 10 };
    const box = boundingBox(centre);
    expect(isInBox(box, destination(centre, 0, 10.01))).toBe(false);
    expect(isInBox(box, destination(centre, 180, 10.01))).toBe(false);
    expect(isInBox(box, { lat: 45, lon: 7 + 0.2 })).toBe(false);
  });
});
