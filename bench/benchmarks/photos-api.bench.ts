/**
 * `GET /photos` under load, and thumbnail serving, through the real api over loopback.
 *
 * Data: 100,000 synthetic image_exif rows (1,000 folders, 12 camera makes, 60% with GPS around 25
 * cities, dates over 20 years), 50 tags and 200,000 tag links (popular tags carry more photos), in
 * a SQLite file; 200 thumbnails on disk. Load: `wrk` (Debian package) with 16 connections and one
 * thread, LUMEN_BENCH_API_ROUNDS (default 3) rounds of LUMEN_BENCH_API_SECONDS (default 5) per
 * measurement after a 2 s warm-up, medians over the rounds, on the same 2-core machine as the
 * server (so the load generator takes CPU from it, equally for the baseline).
 *
 * Baselines in the same run and process: the same server (same middleware: auth, metrics, request
 * log context) answering a fixed JSON body of the same size as the query's answer on a route that
 * exists only here; for thumbnails, node:http serving the same thumbnail files (stat + stream).
 *
 *   LUMEN_BENCH_API_SECONDS=5 pnpm bench photos-api
 */
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createApp } from '@lumen/api';
import { createMemoryBus } from '@lumen/bus';
import { parseConfig } from '@lumen/core';
import { type Database, openDatabase } from '@lumen/db';
import { thumbPaths } from '@lumen/media';
import sharp from 'sharp';
import { type BenchContext, type Benchmark, type BenchRow, positiveInt, row } from '../benchmark.ts';
import {
  benchUserToken,
  closeServer as close,
  type Load,
  listen,
  measureLoad,
  nodeServerFor,
  requireWrk,
  silentLogger,
} from '../fixtures/http-load.ts';
import { DEFAULT_PHOTO_ROWS, FOLDERS, hashOf, loadRows, prng, relPathOf } from '../fixtures/photo-rows.ts';

const { rows: ROWS, tags: TAGS, tagLinks: TAG_LINKS } = DEFAULT_PHOTO_ROWS;
const THUMBNAILS = 200;
const CONNECTIONS = 16;
const SECONDS = positiveInt('LUMEN_BENCH_API_SECONDS', 5);
const ROUNDS = positiveInt('LUMEN_BENCH_API_ROUNDS', 3);
const AFTER_WRITE_SAMPLES = 21;
const WARMUP_SECONDS = 2;
const P99_TARGET_MS = 50;
const SECRET = 'bench-secret-key-0123456789abcdef-0123456789';

/** Warm up, then ROUNDS runs of SECONDS each; medians over the rounds (see measureLoad). */
function measure(url: string, token: string, script?: string): Promise<Load> {
  return measureLoad(
    url,
    token,
    { connections: CONNECTIONS, warmupSeconds: WARMUP_SECONDS, rounds: ROUNDS, seconds: SECONDS },
    script,
  );
}

/** Thumbnails (200x200 JPEG of noise, like a real photo's size) for the first THUMBNAILS rows. */
async function makeThumbnails(thumbnailsDir: string): Promise<string[]> {
  const files: string[] = [];
  const random = prng(7);
  for (let i = 0; i < THUMBNAILS; i++) {
    const pixels = Buffer.alloc(200 * 200 * 3);
    for (let p = 0; p < pixels.length; p++) pixels[p] = (random() * 64 + (p % 600) / 3) & 0xff;
    const file = thumbPaths(thumbnailsDir, hashOf(i)).thumb;
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(
      file,
      await sharp(pixels, { raw: { width: 200, height: 200, channels: 3 } })
        .jpeg({ quality: 80 })
        .toBuffer(),
    );
    files.push(file);
  }
  return files;
}

/**
 * Median latency of one request made right after a write, so no read the api keeps until the next
 * write (the COUNT behind `total`, users, libraries) is reused: the cost of a search while the
 * watcher is ingesting, or of the first page of a new search.
 */
async function latencyAfterWrite(database: Database, url: string, token: string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < AFTER_WRITE_SAMPLES; i++) {
    // A write that changes nothing but still counts as one (as an ingest's would).
    await database.db
      .updateTable('libraries')
      .set((eb) => ({ name: eb.ref('name') }))
      .execute();
    const started = performance.now();
    const res = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
    await res.arrayBuffer();
    times.push(performance.now() - started);
    if (res.status !== 200) throw new Error(`${url}: ${res.status}`);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

const benchmark: Benchmark = {
  title: 'Photo search and thumbnails over HTTP',
  description:
    `\`GET /photos\` on ${ROWS.toLocaleString('en-US')} synthetic image_exif rows (SQLite, no ANALYZE; ${FOLDERS} folders, 12 camera makes, 60% with GPS around 25 cities, 20 years of dates) with ${TAGS} tags and ${TAG_LINKS.toLocaleString('en-US')} tag links, through the real api (auth, middleware, validation, repositories) over loopback. ` +
    `Load: wrk (Debian) with ${CONNECTIONS} connections, 1 thread, ${ROUNDS} rounds of ${SECONDS} s per measurement after ${WARMUP_SECONDS} s of warm-up, on the same 2-core machine as the server; each figure is the median over the rounds (the worst round's p99 is in the note). ` +
    `Baseline in the same run: the same server answering a fixed JSON body of the same size as each query's answer (a route that exists only in the benchmark, behind the same middleware). ` +
    `Thumbnails: GET /image?size=thumb over ${THUMBNAILS} different existing 200x200 thumbnails (round robin) against node:http serving the same files (stat + stream). p50/p99 from wrk's latency distribution.`,
  async run(ctx: BenchContext): Promise<BenchRow[]> {
    await requireWrk();
    const base = await mkdtemp(path.join(os.tmpdir(), 'lumen-bench-photos-api-'));
    const servers: http.Server[] = [];
    const bus = createMemoryBus();
    let database: Database | undefined;
    try {
      const root = path.join(base, 'library');
      await mkdir(root, { recursive: true });
      const config = parseConfig(
        { DATA_DIR: path.join(base, 'data'), SECRET_KEY: SECRET, LOG_LEVEL: 'silent' },
        base,
      );
      database = await openDatabase(config.database);
      const library = await database.db
        .insertInto('libraries')
        .values({ name: 'main', root, created_at: new Date().toISOString() })
        .returning('id')
        .executeTakeFirstOrThrow();
      await loadRows(database, Number(library.id), ctx);
      const thumbnails = await makeThumbnails(config.thumbnailsDir);

      const app = createApp({ config, database, bus, logger: silentLogger() });
      // The baseline: same app and middleware, a fixed body of the requested size.
      const bodies = new Map<number, string>();
      app.get('/bench/fixed', (c) => {
        const body = bodies.get(Number(c.req.query('bytes'))) ?? '{}';
        return c.body(body, 200, { 'Content-Type': 'application/json' });
      });
      const api = nodeServerFor(app);
      servers.push(api);
      const url = await listen(api);

      const token = await benchUserToken(database, url);

      const queries: [string, string][] = [
        ['date range (2015, one year)', 'date_from=2015-01-01&date_to=2015-12-31'],
        ['GPS radius 10 km (Paris)', 'gps_lat=48.8566&gps_lon=2.3522&gps_radius_km=10'],
        ['camera make (Canon)', 'camera_make=canon'],
        ['tags any of 3', 'tag_ids=3,17,41&tag_mode=any'],
        ['DateTakenDesc, page of 50', 'sort=DateTakenDesc&limit=50'],
        ['Shuffle, page of 10', 'sort=Shuffle&seed=bench&limit=10'],
      ];
      const rows: BenchRow[] = [];
      for (const [label, query] of queries) {
        const probe = await fetch(`${url}/photos?${query}`, {
          headers: { Authorization: `Bearer ${token}` },
        });
        const text = await probe.text();
        if (probe.status !== 200) throw new Error(`/photos?${query}: ${probe.status} ${text}`);
        const answer = JSON.parse(text) as { items: unknown[]; total: number };
        const bytes = Buffer.byteLength(text);
        bodies.set(bytes, JSON.stringify({ pad: 'x'.repeat(Math.max(0, bytes - 10)) }).slice(0, bytes));
        ctx.log(`${label}: ${answer.total} matches, ${answer.items.length} items, ${bytes} bytes`);

        const afterWrite = await latencyAfterWrite(database, `${url}/photos?${query}`, token);
        const photos = await measure(`${url}/photos?${query}`, token);
        const fixed = await measure(`${url}/bench/fixed?bytes=${bytes}`, token);
        ctx.log(
          `${label}: p50 ${photos.p50Ms} ms, p99 ${photos.p99Ms} ms, ${photos.perSecond} req/s (fixed body: p99 ${fixed.p99Ms} ms, ${fixed.perSecond} req/s)`,
        );
        const name = `/photos ${label}`;
        const baseline = `same server, fixed ${bytes}-byte JSON body`;
        rows.push(
          row({
            name,
            metric: `p50 latency, ${CONNECTIONS} connections`,
            value: photos.p50Ms,
            unit: 'ms',
            baseline,
            baselineValue: fixed.p50Ms,
            note: 'lower is better',
          }),
          row({
            name,
            metric: `p99 latency, ${CONNECTIONS} connections`,
            value: photos.p99Ms,
            unit: 'ms',
            baseline,
            baselineValue: fixed.p99Ms,
            note: `lower is better; target p99 <= ${P99_TARGET_MS} ms (${photos.p99Ms <= P99_TARGET_MS ? 'met' : 'MISSED'}); worst round ${photos.worstP99Ms} ms`,
          }),
          row({
            name,
            metric: 'throughput',
            value: photos.perSecond,
            unit: 'req/s',
            baseline,
            baselineValue: fixed.perSecond,
            note: 'higher is better',
          }),
          row({
            name,
            metric: 'one request right after a write (nothing kept: COUNT included), median',
            value: afterWrite,
            unit: 'ms',
            baseline: `the same request under load, p50 at ${CONNECTIONS} connections`,
            baselineValue: photos.p50Ms,
            note: `sequential, ${AFTER_WRITE_SAMPLES} samples; what a search costs alone while the watcher writes`,
          }),
        );
      }

      // Thumbnails: the api vs a static file server, on the same files.
      const staticServer = http.createServer((req, res) => {
        const index = Number((req.url ?? '').slice(3));
        const file = thumbnails[index];
        if (!file) {
          res.writeHead(404).end();
          return;
        }
        stat(file).then(
          (stats) => {
            res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': stats.size });
            createReadStream(file).pipe(res);
          },
          () => res.writeHead(500).end(),
        );
      });
      servers.push(staticServer);
      const staticUrl = await listen(staticServer);
      // The URLs /photos hands out (thumbnail_url), for files that exist (their originals are stand-ins).
      const apiPaths: string[] = [];
      for (let i = 0; i < THUMBNAILS; i++) {
        const rel = relPathOf(i);
        await mkdir(path.join(root, path.dirname(rel)), { recursive: true });
        await writeFile(path.join(root, rel), 'original');
        apiPaths.push(`/image?path=${encodeURIComponent(rel)}&library=${Number(library.id)}&size=thumb`);
      }
      const check = await fetch(`${url}${apiPaths[0]}`, { headers: { Authorization: `Bearer ${token}` } });
      if (check.status !== 200) throw new Error(`thumbnail: ${check.status} ${await check.text()}`);
      await check.arrayBuffer();
      const script = async (name: string, paths: string[]) => {
        const file = path.join(base, `${name}.lua`);
        await writeFile(
          file,
          `local paths = {${paths.map((p) => JSON.stringify(p)).join(',')}}\nlocal i = 0\nrequest = function()\n  i = i % #paths + 1\n  return wrk.format("GET", paths[i])\nend\n`,
        );
        return file;
      };
      const apiThumbs = await measure(url, token, await script('api', apiPaths));
      const staticThumbs = await measure(
        staticUrl,
        token,
        await script(
          'static',
          Array.from({ length: THUMBNAILS }, (_, i) => `/t/${i}`),
        ),
      );
      ctx.log(`thumbnails: api ${apiThumbs.perSecond} req/s, static ${staticThumbs.perSecond} req/s`);
      const baseline = 'node:http serving the same files (stat + stream)';
      const ratio = apiThumbs.perSecond / staticThumbs.perSecond;
      rows.push(
        row({
          name: `GET /image?size=thumb, ${THUMBNAILS} files round robin`,
          metric: 'throughput',
          value: apiThumbs.perSecond,
          unit: 'req/s',
          baseline,
          baselineValue: staticThumbs.perSecond,
          note: `higher is better; target ratio >= 0.5 (${ratio >= 0.5 ? 'met' : 'MISSED'})`,
        }),
        row({
          name: `GET /image?size=thumb, ${THUMBNAILS} files round robin`,
          metric: `p50 latency, ${CONNECTIONS} connections`,
          value: apiThumbs.p50Ms,
          unit: 'ms',
          baseline,
          baselineValue: staticThumbs.p50Ms,
          note: 'lower is better',
        }),
        row({
          name: `GET /image?size=thumb, ${THUMBNAILS} files round robin`,
          metric: `p99 latency, ${CONNECTIONS} connections`,
          value: apiThumbs.p99Ms,
          unit: 'ms',
          baseline,
          baselineValue: staticThumbs.p99Ms,
          note: 'lower is better',
        }),
      );
      return rows;
    } finally {
      for (const server of servers) await close(server);
      await bus.close();
      await database?.close().catch(() => {});
      await rm(base, { recursive: true, force: true });
    }
  },
};

export default benchmark;
