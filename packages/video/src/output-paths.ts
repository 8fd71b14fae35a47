import { join } from 'node:path';
import { segmentFileName } from '@lumen/core';
import { contentHashHex } from '@lumen/media';

/**
 * Content-addressed outputs, laid out like the thumbnails (`<dir>/<aa>/<bb>/<hex>...`, where `<hex>` is
 * the content hash without its algorithm prefix and `aa`, `bb` its first two byte pairs). A moved or
 * duplicated video reuses them. Every output appears atomically (staged beside it, then renamed), so
 * "the file exists" means "it is complete".
 */

export type VideoOutputKind = 'hls' | 'preview';

/** Name of the stream plan inside an HLS folder (`StreamPlan`: segments, renditions, source). */
export const STREAM_PLAN_FILE = 'stream.json';

/** Name of the master playlist inside an HLS folder. */
export const HLS_MASTER_PLAYLIST = 'master.m3u8';

/**
 * Every file an HLS folder may hold, relative to it: the master playlist, `manifest.json`, and per
 * rendition (`v0`, `v1`) a variant playlist and its segments. For the API, to refuse anything else.
 */
export const HLS_FILE_PATTERN = /^(master\.m3u8|manifest\.json|v[0-9]\/index\.m3u8|v[0-9]\/seg[0-9]{5}\.ts)$/;

export interface HlsPaths {
  /** The folder served to players: `master.m3u8`, `manifest.json`, `v0/index.m3u8`, `v0/seg00000.ts`, ... */
  dir: string;
  master: string;
  /** `stream.json`: the plan every playlist and segment follows; present = playable on demand. */
  plan: string;
  /** What was made and how (`HlsManifest`); present = every segment is made. */
  manifest: string;
  /** `<dir>/<rendition>/seg<NNNNN>.ts`. */
  segment(rendition: string, index: number): string;
  /** Beside the folder: why the last job failed for good (`FailureRecord`); removed on success. */
  failure: string;
}

function shard(baseDir: string, contentHash: string): { parent: string; hex: string } {
  const hex = contentHashHex(contentHash);
  return { parent: join(baseDir, hex.slice(0, 2), hex.slice(2, 4)), hex };
}

/** `<videoDir>/<aa>/<bb>/<hex>/master.m3u8` and friends. */
export function hlsPaths(videoDir: string, contentHash: string): HlsPaths {
  const { parent, hex } = shard(videoDir, contentHash);
  const dir = join(parent, hex);
  return {
    dir,
    master: join(dir, HLS_MASTER_PLAYLIST),
    plan: join(dir, STREAM_PLAN_FILE),
    manifest: join(dir, 'manifest.json'),
    segment: (rendition, index) => join(dir, rendition, segmentFileName(index)),
    failure: join(parent, `${hex}.hls-failed.json`),
  };
}

/** `<previewClipsDir>/<aa>/<bb>/<hex>.mp4`: the silent looping clip of the video wall. */
export function previewClipPath(previewClipsDir: string, contentHash: string): string {
  const { parent, hex } = shard(previewClipsDir, contentHash);
  return join(parent, `${hex}.mp4`);
}

/** `<gifsDir>/<aa>/<bb>/<hex>.gif`: the animated GIF thumbnail. */
export function gifPath(gifsDir: string, contentHash: string): string {
  const { parent, hex } = shard(gifsDir, contentHash);
  return join(parent, `${hex}.gif`);
}

/** `<previewClipsDir>/<aa>/<bb>/<hex>.preview-failed.json`: why the preview job failed for good. */
export function previewFailurePath(previewClipsDir: string, contentHash: string): string {
  const { parent, hex } = shard(previewClipsDir, contentHash);
  return join(parent, `${hex}.preview-failed.json`);
}
