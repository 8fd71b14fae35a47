import type { PhotosRepository, TagsRepository } from '@lumen/db';
import type { Logger } from '@lumen/runtime';
import { z } from 'zod';
import type { ImageMetadata } from '../images.service.ts';
import type { PersonalPlaces } from './apollo-places.ts';
import type { ToolDefinition } from './llm-backends.ts';
import { describeError } from './llm-errors.ts';
import type { OfflineGeocoder, ReverseGeocodeResult } from './offline-geocoder.ts';

/** The photo an insight is about: where it is, and its stored metadata. */
export interface InsightPhoto {
  libraryId: number;
  library: string;
  relPath: string;
  contentHash: string;
  metadata: ImageMetadata;
}

/** A search over conversation summaries (item 4); absent when there is nothing to search. */
export interface ConversationSearch {
  search(query: string, limit: number, signal?: AbortSignal): Promise<unknown[]>;
}

export interface ToolContext {
  photo: InsightPhoto;
  signal?: AbortSignal;
}

interface Tool {
  definition: ToolDefinition;
  run(args: Record<string, unknown>, ctx: ToolContext): Promise<unknown>;
}

const NOMINATIM_TIMEOUT_MS = 5_000;

/**
 * The tools the agentic loop offers the model. Each takes JSON arguments (checked with zod) and
 * returns JSON; a failing tool returns `{ error }` to the model instead of failing the turn.
 */
export class InsightTools {
  readonly #tools = new Map<string, Tool>();

  constructor(
    private readonly deps: {
      photos: PhotosRepository;
      tags: TagsRepository;
      geocoder: OfflineGeocoder;
      nominatimUrl?: string | undefined;
      conversations?: ConversationSearch | undefined;
      /** Apollo's personal places; the tool is offered only when set (APOLLO_API_BASE_URL). */
      places?: PersonalPlaces | undefined;
      logger: Logger;
    },
  ) {
    this.#add({
      definition: {
        name: 'get_photo_metadata',
        description:
          'The metadata of the photo: camera, lens, exposure, size, date taken (UTC and offset) and GPS position.',
        parameters: { type: 'object', properties: {} },
      },
      run: async (_args, ctx) => photoFacts(ctx.photo),
    });
    this.#add({
      definition: {
        name: 'get_photo_tags',
        description: 'The tags the user put on the photo.',
        parameters: { type: 'object', properties: {} },
      },
      run: async (_args, ctx) => ({
        tags: (await this.deps.tags.tagsForHash(ctx.photo.contentHash)).map((t) => t.name),
      }),
    });
    const nearbyArgs = z.object({
      radius_km: z.number().positive().max(500).default(1),
      days: z.number().min(0).max(3650).default(3),
      limit: z.number().int().min(1).max(50).default(10),
    });
    this.#add({
      definition: {
        name: 'find_nearby_photos',
        description:
          'Other photos taken near this one, in place (GPS radius) and time (days before and after). Needs the photo to have GPS and a date.',
        parameters: {
          type: 'object',
          properties: {
            radius_km: { type: 'number', description: 'Radius around the photo, km (default 1)' },
            days: { type: 'number', description: 'Days before and after the photo (default 3)' },
            limit: { type: 'integer', description: 'At most this many (default 10)' },
          },
        },
      },
      run: async (raw, ctx) => {
        const args = nearbyArgs.parse(raw);
        const { gps, date_taken } = ctx.photo.metadata;
        if (!gps) return { error: 'the photo has no GPS position' };
        const center = date_taken ? Date.parse(date_taken) : Number.NaN;
        const page = await this.deps.photos.search({
          libraryIds: [ctx.photo.libraryId],
          gps: { lat: gps.lat, lon: gps.lon, radiusKm: args.radius_km },
          ...(Number.isFinite(center)
            ? {
                dateFrom: new Date(center - args.days * 86_400_000).toISOString(),
                dateTo: new Date(center + args.days * 86_400_000).toISOString(),
              }
            : {}),
          sort: 'DateTakenAsc',
          limit: args.limit + 1,
        });
        const others = page.items
          .filter((p) => p.content_hash !== ctx.photo.contentHash)
          .slice(0, args.limit);
        return {
          total: others.length,
          photos: others.map((p) => ({
            path: p.rel_path,
            library: p.library,
            date_taken: p.date_taken,
            gps: p.gps_lat !== null && p.gps_lon !== null ? { lat: p.gps_lat, lon: p.gps_lon } : null,
            camera: [p.camera_make, p.camera_model].filter(Boolean).join(' ') || null,
          })),
        };
      },
    });
    const geoArgs = z.object({
      lat: z.number().min(-90).max(90).optional(),
      lon: z.number().min(-180).max(180).optional(),
    });
    this.#add({
      definition: {
        name: 'reverse_geocode',
        description:
          'The place at a GPS position (the photo position when lat/lon are left out): the nearest town and the nearest big city. Works offline.',
        parameters: {
          type: 'object',
          properties: {
            lat: { type: 'number', description: 'Latitude (default: the photo)' },
            lon: { type: 'number', description: 'Longitude (default: the photo)' },
          },
        },
      },
      run: async (raw, ctx) => {
        const args = geoArgs.parse(raw);
        const lat = args.lat ?? ctx.photo.metadata.gps?.lat;
        const lon = args.lon ?? ctx.photo.metadata.gps?.lon;
        if (lat === undefined || lon === undefined)
          return { error: 'no position: the photo has no GPS; give lat and lon' };
        return this.reverseGeocode(lat, lon, ctx.signal);
      },
    });
    if (deps.places) {
      const places = deps.places;
      const placesArgs = geoArgs.extend({
        radius_m: z.number().positive().max(50_000).default(500),
        limit: z.number().int().min(1).max(50).default(10),
      });
      this.#add({
        definition: {
          name: 'find_personal_places',
          description:
            "The user's own places (home, work, friends, favourite spots) near a GPS position (the photo position when lat/lon are left out), nearest first.",
          parameters: {
            type: 'object',
            properties: {
              lat: { type: 'number', description: 'Latitude (default: the photo)' },
              lon: { type: 'number', description: 'Longitude (default: the photo)' },
              radius_m: { type: 'number', description: 'Radius, metres (default 500)' },
              limit: { type: 'integer', description: 'At most this many (default 10)' },
            },
          },
        },
        run: async (raw, ctx) => {
          const args = placesArgs.parse(raw);
          const lat = args.lat ?? ctx.photo.metadata.gps?.lat;
          const lon = args.lon ?? ctx.photo.metadata.gps?.lon;
          if (lat === undefined || lon === undefined)
            return { error: 'no position: the photo has no GPS; give lat and lon' };
          const query = { lat, lon, radiusM: args.radius_m, limit: args.limit };
          return { lat, lon, radius_m: args.radius_m, places: await places.nearby(query, ctx.signal) };
        },
      });
    }
    if (deps.conversations) {
      const conversations = deps.conversations;
      const searchArgs = z.object({
        query: z.string().min(1).max(2000),
        limit: z.number().int().min(1).max(20).default(5),
      });
      this.#add({
        definition: {
          name: 'search_conversations',
          description:
            "Search the user's daily conversation summaries (text messages) by meaning, e.g. for what was going on around the photo's date or place.",
          parameters: {
            type: 'object',
            properties: {
              query: { type: 'string', description: 'What to look for' },
              limit: { type: 'integer', description: 'At most this many summaries (default 5)' },
            },
            required: ['query'],
          },
        },
        run: async (raw, ctx) => {
          const args = searchArgs.parse(raw);
          return { results: await conversations.search(args.query, args.limit, ctx.signal) };
        },
      });
    }
  }

  #add(tool: Tool): void {
    this.#tools.set(tool.definition.name, tool);
  }

  definitions(): ToolDefinition[] {
    return [...this.#tools.values()].map((t) => t.definition);
  }

  /** Run one tool call; the result (or the error) as JSON text for the model. */
  async run(name: string, args: Record<string, unknown>, ctx: ToolContext): Promise<string> {
    const tool = this.#tools.get(name);
    if (!tool)
      return JSON.stringify({
        error: `no tool named "${name}"; use one of ${[...this.#tools.keys()].join(', ')}`,
      });
    try {
      return JSON.stringify(await tool.run(args, ctx));
    } catch (err) {
      if (ctx.signal?.aborted) throw err;
      const message =
        err instanceof z.ZodError
          ? `bad arguments: ${err.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`
          : describeError(err);
      this.deps.logger.warn({ tool: name, err: message }, 'insight tool failed');
      return JSON.stringify({ error: message });
    }
  }

  /** Nominatim when NOMINATIM_URL is set and answers in time; the offline gazetteer otherwise. */
  async reverseGeocode(lat: number, lon: number, signal?: AbortSignal): Promise<ReverseGeocodeResult> {
    const offline = this.deps.geocoder.reverse(lat, lon);
    if (!this.deps.nominatimUrl) return offline;
    try {
      const url = `${this.deps.nominatimUrl}/reverse?format=jsonv2&lat=${lat}&lon=${lon}`;
      const signals = [AbortSignal.timeout(NOMINATIM_TIMEOUT_MS), ...(signal ? [signal] : [])];
      const res = await fetch(url, {
        signal: AbortSignal.any(signals),
        headers: { 'User-Agent': 'Lumen media server' },
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const body = (await res.json()) as { display_name?: string };
      if (!body.display_name) return offline;
      return { ...offline, source: 'nominatim', display_name: body.display_name };
    } catch (err) {
      if (signal?.aborted) throw err;
      this.deps.logger.warn(
        { err: describeError(err) },
        'nominatim did not answer; using the offline gazetteer',
      );
      return offline;
    }
  }
}

/** What the model is told about the photo (no library internals). */
export function photoFacts(photo: InsightPhoto): Record<string, unknown> {
  const m = photo.metadata;
  return {
    path: photo.relPath,
    library: photo.library,
    media_type: m.media_type,
    camera: [m.camera_make, m.camera_model].filter(Boolean).join(' ') || null,
    lens: m.lens_model,
    width: m.width,
    height: m.height,
    date_taken: m.date_taken,
    date_taken_offset: m.date_taken_offset,
    gps: m.gps,
    focal_length: m.focal_length,
    aperture: m.aperture,
    exposure_time: m.exposure_time,
    iso: m.iso,
  };
}
