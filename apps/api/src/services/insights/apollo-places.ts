import { TimeoutError, withTimeout } from '@lumen/core';
import { z } from 'zod';
import { describeError } from './llm-errors.ts';

/**
 * What Apollo answers for `GET /v1/places/nearby?lat=&lon=&radius_m=&limit=` (docs/insights.md,
 * "Personal places (Apollo)"): the user's own places (home, work, a friend's house), nearest first.
 * Fields not listed here are dropped.
 */
const nearbyPlacesSchema = z.object({
  places: z.array(
    z.object({
      name: z.string().min(1),
      category: z.string().nullish(),
      lat: z.number().min(-90).max(90),
      lon: z.number().min(-180).max(180),
      distance_m: z.number().min(0).nullish(),
      notes: z.string().nullish(),
    }),
  ),
});
export type PersonalPlace = z.infer<typeof nearbyPlacesSchema>['places'][number];

export interface PlacesQuery {
  lat: number;
  lon: number;
  radiusM: number;
  limit: number;
}

/** The personal-place lookup the agentic loop offers (`find_personal_places`). */
export interface PersonalPlaces {
  nearby(query: PlacesQuery, signal?: AbortSignal): Promise<PersonalPlace[]>;
}

/**
 * Apollo's personal places over HTTP: one GET with an optional Bearer token, the whole call (answer
 * and body) within `timeoutMs`, the answer checked with zod. Every failure is an Error whose message
 * says the lookup failed and why; the tool turns it into an `{ error }` result for the model.
 */
export class ApolloPlacesClient implements PersonalPlaces {
  constructor(private readonly options: { baseUrl: string; token?: string | undefined; timeoutMs: number }) {}

  async nearby(query: PlacesQuery, signal?: AbortSignal): Promise<PersonalPlace[]> {
    const controller = new AbortController();
    const signals = [controller.signal, ...(signal ? [signal] : [])];
    try {
      return await withTimeout(this.#fetch(query, AbortSignal.any(signals)), this.options.timeoutMs, () => {
        const err = new TimeoutError(`Apollo did not answer within ${this.options.timeoutMs} ms`);
        controller.abort(err);
        return err;
      });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new Error(`the personal places lookup (Apollo) failed: ${describeError(err)}`, {
        cause: err,
      });
    }
  }

  async #fetch(query: PlacesQuery, signal: AbortSignal): Promise<PersonalPlace[]> {
    const params = new URLSearchParams({
      lat: String(query.lat),
      lon: String(query.lon),
      radius_m: String(query.radiusM),
      limit: String(query.limit),
    });
    const res = await fetch(`${this.options.baseUrl}/v1/places/nearby?${params}`, {
      headers: {
        Accept: 'application/json',
        ...(this.options.token ? { Authorization: `Bearer ${this.options.token}` } : {}),
      },
      signal,
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`HTTP ${res.status}: ${text.slice(0, 200)}`);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error(`the answer is not JSON: ${text.slice(0, 100)}`);
    }
    const parsed = nearbyPlacesSchema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`unexpected answer: ${issue?.path.join('.')}: ${issue?.message}`);
    }
    // A server that ignores `limit` still gives the model at most that many.
    return parsed.data.places.slice(0, query.limit);
  }
}
