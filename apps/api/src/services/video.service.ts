import fs from 'node:fs/promises';
import path from 'node:path';
import { type Bus, NoResponderError, RequestError, TimeoutError } from '@lumen/bus';
import {
  type MasterVariant,
  masterPlaylist,
  mediaPlaylist,
  type PhotoCursor,
  resolveInsideRoot,
  type SegmentReply,
  type SegmentRequest,
  type StreamPlan,
  type StreamPlanRequest,
  segmentFileName,
  segmentIndexOf,
  type VideoJob,
  videoRequestSubjects,
} from '@lumen/core';
import type { ImageExifRow, LibrariesRepository, LibraryRow, PhotosRepository } from '@lumen/db';
import { contentHashHex, errorMessage } from '@lumen/media';
import type { Logger } from '@lumen/runtime';
import {
  enqueueVideoJob,
  gifPath,
  HLS_MASTER_PLAYLIST,
  hlsPaths,
  previewClipPath,
  readStreamPlan,
  readVideoOutputState,
  type VideoOutputDirs,
  type VideoOutputKind,
} from '@lumen/video';
import { ProblemError } from '../http/problem.ts';
import type { ImagesService } from './images.service.ts';
import type { LibrariesService } from './libraries.service.ts';
import type { VideoStatusBoard } from './video-status-board.ts';
import {
  type SignatureCheck,
  type SignedScope,
  signatureQuery,
  type UrlSignature,
  type VideoUrlSigner,
} from './video-url-signer.ts';

/** Where a video's output stands. `missing`: never asked for (or its output was removed). */
export type VideoState =
  | { state: 'queued' | 'running'; error?: string }
  | { state: 'ready' }
  | { state: 'failed'; error: string }
  | { state: 'missing' };

/** A video a request names: ingested, of media type video, with a content hash, and its file there. */
export interface LocatedVideo {
  library: LibraryRow;
  relPath: string;
  /** Symlinks followed, checked to stay inside the root: what the transcoder opens. */
  realPath: string;
  row: ImageExifRow;
  contentHash: string;
  hex: string;
}

/** What a job for a video needs. */
export type VideoSource = Pick<LocatedVideo, 'library' | 'relPath' | 'realPath' | 'contentHash' | 'hex'>;

/** One video of the wall. */
export interface WallItem {
  library: string;
  library_id: number;
  path: string;
  file_name: string;
  date_taken: string | null;
  duration_sec: number | null;
  width: number | null;
  height: number | null;
  /** Signed (no header needed), for `<video src>`; null when the file has no content hash yet. */
  clip_url: string | null;
  /** Signed, for `<img src>`; made by the same job as the clip. */
  gif_url: string | null;
  /** The bearer-protected master playlist. */
  stream_url: string;
  clip_ready: boolean;
  clip_state: VideoState['state'];
  clip_error?: string;
}

export interface WallPage {
  items: WallItem[];
  total: number;
  next_cursor: string | null;
}

export interface WallQuery {
  library?: string | undefined;
  path?: string | undefined;
  recursive: boolean;
  limit: number;
  cursor?: PhotoCursor | undefined;
}

/** A file of an HLS folder, fetched through a signed URL. */
export type HlsFile =
  | { type: 'playlist'; body: string; exp: number }
  | { type: 'segment'; path: string; exp: number };

/** A failed-for-good event is believed this long without its failure record on disk (it may lag). */
export const FAILED_EVENT_GRACE_MS = 60_000;
/**
 * A `queued` output is enqueued again when asked for after this long without news (healing a job
 * that was lost); a duplicate is a no-op for the transcoder once the output exists.
 */
export const REQUEUE_AFTER_MS = 10 * 60_000;
/** How long a client should wait before asking again about a stream or clip being made. */
export const VIDEO_RETRY_AFTER_SECONDS = 2;

/** How long the api waits for a transcoder to plan a stream (ffprobe), ms. */
export const PLAN_TIMEOUT_MS = 60_000;
/** How long the api waits for a transcoder to make one segment, ms. */
export const SEGMENT_TIMEOUT_MS = 60_000;

/** `v0/index.m3u8` */
const VARIANT_PLAYLIST = /^(v[0-9])\/index\.m3u8$/;
/** `v0/seg00042.ts` */
const SEGMENT_FILE = /^(v[0-9])\/(seg[0-9]{5}\.ts)$/;

export const HLS_PLAYLIST_TYPE = 'application/vnd.apple.mpegurl';
export const HLS_SEGMENT_TYPE = 'video/mp2t';

/** The output paths depend on the hex alone: a stand-in hash for URLs that carry only the hex. */
function hashOfHex(hex: string): string {
  return `hex:${hex}`;
}

function pathQuery(library: number | string, relPath: string): string {
  return `path=${encodeURIComponent(relPath)}&library=${encodeURIComponent(String(library))}`;
}

/** The bearer-protected master playlist of a video. */
export function streamUrl(library: number | string, relPath: string): string {
  return `/video/stream?${pathQuery(library, relPath)}`;
}

/** The problem for a refused signature: 401 when none came, 403 for a bad or expired one. */
export function signatureProblem(check: Exclude<SignatureCheck, { ok: true }>): ProblemError {
  if (check.reason === 'missing') {
    return new ProblemError(
      'unauthorized',
      'this URL needs its exp and sig query parameters (take the URL from /video/stream or /video/wall)',
      { headers: { 'WWW-Authenticate': 'Signature realm="lumen-video"' } },
    );
  }
  const why = {
    malformed: 'the signature is malformed',
    invalid: 'the signature does not match this video and expiry',
    expired: 'the signature has expired; fetch the playlist or the wall again for fresh URLs',
  }[check.reason];
  return new ProblemError('forbidden', why);
}

export interface VideoServiceDeps {
  images: ImagesService;
  libraries: LibrariesService;
  librariesRepo: LibrariesRepository;
  photos: PhotosRepository;
  bus: Bus;
  board: VideoStatusBoard;
  signer: VideoUrlSigner;
  dirs: VideoOutputDirs;
  logger: Logger;
  clock?: () => number;
}

/**
 * Videos for players: asks the transcoder for HLS streams and preview clips (over the bus,
 * idempotently), tells where each stands (files first, then what the status board heard), serves
 * the master playlist with signed URLs, the signed HLS files, the clips, and the video wall.
 * The api never runs ffmpeg and never writes the outputs; it reads them where the transcoder
 * published them (atomically, so a file that exists is complete).
 */
export class VideoService {
  readonly #clock: () => number;

  constructor(private readonly deps: VideoServiceDeps) {
    this.#clock = deps.clock ?? Date.now;
  }

  /**
   * The video `path` names. 404 for an unknown library, a file not ingested (or not there);
   * 400 for a refused path or a file that is no video; 503 while it has no content hash.
   */
  async locate(libraryParam: string | undefined, pathParam: string): Promise<LocatedVideo> {
    const file = await this.deps.images.locate(libraryParam, pathParam);
    const row = file.row;
    if (!row) {
      throw new ProblemError(
        'not-found',
        `"${file.relPath}" is not in library "${file.library.name}" (not there, or not ingested yet)`,
      );
    }
    if (row.media_type !== 'video') {
      throw new ProblemError('bad-request', `"${file.relPath}" is a ${row.media_type}, not a video`);
    }
    if (!row.content_hash) {
      throw new ProblemError(
        'unavailable',
        `"${file.relPath}" has no content hash yet; the watcher will get to it`,
        { headers: { 'Retry-After': '30' } },
      );
    }
    // Opened and checked (404 when gone, 400/409 when it leads out or moved); the transcoder opens
    // and checks it again when it reads it.
    const opened = await this.deps.images.open(file);
    await opened.close();
    return {
      library: file.library,
      relPath: file.relPath,
      realPath: opened.realPath,
      row,
      contentHash: row.content_hash,
      hex: contentHashHex(row.content_hash),
    };
  }

  /**
   * Where an output stands: the files say `ready` or `failed` (the failure record); otherwise what
   * the board heard (`queued`, `running`, or a `failed` that its record has not caught up with).
   */
  async stateOf(kind: VideoOutputKind, contentHash: string): Promise<VideoState> {
    const files = await readVideoOutputState(this.deps.dirs, kind, contentHash);
    if (files.state === 'ready') return { state: 'ready' };
    if (files.state === 'failed') return { state: 'failed', error: files.error };
    const hex = contentHashHex(contentHash);
    const heard = this.deps.board.get(kind, hex);
    if (!heard) return { state: 'missing' };
    if (heard.state === 'failed') {
      if (this.#clock() - heard.at < FAILED_EVENT_GRACE_MS) return { state: 'failed', error: heard.error };
      // Its record is gone (removed to retry): the files are the truth again.
      this.deps.board.forget(kind, hex);
      return { state: 'missing' };
    }
    return heard.error !== undefined ? { state: heard.state, error: heard.error } : { state: heard.state };
  }

  /**
   * The output's state, after enqueueing its job when nothing is under way (missing, or queued for
   * long enough that the job may have been lost). The bus deduplicates the job by content hash and
   * the transcoder joins a run already making it, so asking often is harmless. A failed output is
   * left alone. 503 when the bus refuses the job.
   */
  async request(kind: VideoOutputKind, video: VideoSource): Promise<VideoState> {
    const state = await this.stateOf(kind, video.contentHash);
    const heard = this.deps.board.get(kind, video.hex);
    // A retry (queued with the error of the last attempt) is held by the bus: not lost.
    const lost =
      state.state === 'queued' &&
      heard !== undefined &&
      heard.error === undefined &&
      this.#clock() - heard.at > REQUEUE_AFTER_MS;
    if (state.state !== 'missing' && !lost) return state;

    if (lost) this.deps.board.forget(kind, video.hex);
    this.deps.board.markQueued(kind, video.hex);
    const job: VideoJob = {
      contentHash: video.contentHash,
      sourcePath: video.realPath,
      library: video.library.name,
      relPath: video.relPath,
      requestedAt: new Date(this.#clock()).toISOString(),
    };
    try {
      await enqueueVideoJob(this.deps.bus, kind, job);
    } catch (err) {
      this.deps.board.forget(kind, video.hex);
      throw new ProblemError(
        'unavailable',
        `the video job cannot be queued right now (${errorMessage(err)})`,
        {
          headers: { 'Retry-After': '30' },
        },
      );
    }
    this.deps.logger.info(
      { kind, contentHash: video.contentHash, library: video.library.name, relPath: video.relPath },
      'video job requested',
    );
    return this.#stateAfterEnqueue(kind, video.hex, state);
  }

  /** After enqueueing: what the board says now (a fast transcoder may already be running it). */
  #stateAfterEnqueue(kind: VideoOutputKind, hex: string, before: VideoState): VideoState {
    const heard = this.deps.board.get(kind, hex);
    if (heard && heard.state !== 'failed') {
      return heard.error !== undefined ? { state: heard.state, error: heard.error } : { state: heard.state };
    }
    return before.state === 'queued' ? before : { state: 'queued' };
  }

  /**
   * The master playlist of a video, at once: from its stream plan (asked of a transcoder when
   * there is none yet), its variant URLs signed (`/video/hls/<hex>/v0/index.m3u8?exp=&sig=`).
   * Segments are made when they are fetched; the whole-stream job is enqueued too (in the
   * background, at a lower priority). A stream that failed for good is 422 `video-unplayable`.
   */
  async masterPlaylist(video: LocatedVideo): Promise<{ playlist: string } | { pending: VideoState }> {
    const state = await this.request('hls', video);
    if (state.state === 'failed') throw unplayable('stream', video.relPath, state.error);
    const plan = await this.#streamPlan(video);
    const signature = this.deps.signer.sign('hls', video.hex);
    return { playlist: this.#master(plan, video.hex, signature) };
  }

  /**
   * A file of an HLS folder through a signed URL: the signature must be for `hls` of this very hex
   * (401 without one, 403 for a bad or expired one). Playlists are written from the stream plan
   * with the same signature (so the URLs inside expire with it); a segment is served from disk, or
   * made first by a transcoder (it waits for it). 404 for anything else.
   */
  async hlsFile(
    hex: string,
    file: string,
    exp: string | undefined,
    sig: string | undefined,
  ): Promise<HlsFile> {
    const check = this.deps.signer.verify('hls', hex, exp, sig);
    if (!check.ok) throw signatureProblem(check);
    const signature = { exp: check.exp, sig: sig as string };
    const variant = VARIANT_PLAYLIST.exec(file);
    const segment = SEGMENT_FILE.exec(file);
    if (file !== HLS_MASTER_PLAYLIST && !variant && !segment) {
      throw new ProblemError('not-found', `an HLS folder has no file "${file}"`);
    }
    const paths = hlsPaths(this.deps.dirs.videoDir, hashOfHex(hex));
    if (segment) {
      const absPath = path.join(paths.dir, ...file.split('/'));
      if (await exists(absPath)) return { type: 'segment', path: absPath, exp: check.exp };
    }
    const plan = await readStreamPlan(this.deps.dirs.videoDir, hashOfHex(hex));
    if (!plan) throw new ProblemError('not-found', 'this stream is not planned (fetch /video/stream first)');
    if (file === HLS_MASTER_PLAYLIST) {
      return { type: 'playlist', body: this.#master(plan, hex, signature), exp: check.exp };
    }
    const rendition = (variant ?? segment)?.[1] as string;
    if (!plan.renditions.some((r) => r.name === rendition)) {
      throw new ProblemError('not-found', `this stream has no rendition ${rendition}`);
    }
    if (variant) {
      const query = signatureQuery(signature);
      const segments = plan.segments.map((s, index) => ({ index, ...s }));
      const body = mediaPlaylist(
        segments,
        (index) => `/video/hls/${hex}/${rendition}/${segmentFileName(index)}?${query}`,
      );
      return { type: 'playlist', body, exp: check.exp };
    }
    const index = segmentIndexOf(segment?.[2] as string) as number;
    if (index >= plan.segments.length) {
      throw new ProblemError(
        'not-found',
        `this stream has ${plan.segments.length} segments, not ${index + 1}`,
      );
    }
    await this.#askForSegment({ contentHash: plan.contentHash, rendition, index });
    return { type: 'segment', path: paths.segment(rendition, index), exp: check.exp };
  }

  /** The stream plan on disk, or asked of a transcoder (which probes the source and writes it). */
  async #streamPlan(video: LocatedVideo): Promise<StreamPlan> {
    const existing = await readStreamPlan(this.deps.dirs.videoDir, video.contentHash);
    if (existing) return existing;
    const request: StreamPlanRequest = {
      contentHash: video.contentHash,
      sourcePath: video.realPath,
      library: video.library.name,
      relPath: video.relPath,
      requestedAt: new Date(this.#clock()).toISOString(),
    };
    try {
      return await this.deps.bus.request<StreamPlanRequest, StreamPlan>(
        videoRequestSubjects.streamPlan,
        request,
        { timeoutMs: PLAN_TIMEOUT_MS },
      );
    } catch (err) {
      if (err instanceof RequestError) throw unplayable('stream', video.relPath, err.message);
      throw transcoderProblem(err, 'plan this stream');
    }
  }

  async #askForSegment(request: SegmentRequest): Promise<void> {
    try {
      await this.deps.bus.request<SegmentRequest, SegmentReply>(videoRequestSubjects.segment, request, {
        timeoutMs: SEGMENT_TIMEOUT_MS,
      });
    } catch (err) {
      if (err instanceof RequestError) {
        this.deps.logger.warn({ ...request, error: err.message }, 'a segment could not be made');
        throw new ProblemError('internal', `segment ${request.index} could not be made: ${err.message}`);
      }
      throw transcoderProblem(err, `make segment ${request.index}`);
    }
  }

  /** The master playlist of a plan, its variant URLs signed. */
  #master(plan: StreamPlan, hex: string, signature: UrlSignature): string {
    const query = signatureQuery(signature);
    const variants: MasterVariant[] = plan.renditions.map((r) => ({
      uri: `/video/hls/${hex}/${r.name}/index.m3u8?${query}`,
      bandwidth: r.bandwidth,
      width: r.width,
      height: r.height,
      codecs: r.codecs,
    }));
    return masterPlaylist(variants);
  }

  /** A signed clip or GIF by hex: the path to stream, after the signature check (401/403). */
  signedOutput(
    scope: Exclude<SignedScope, 'hls'>,
    hex: string,
    exp: string | undefined,
    sig: string | undefined,
  ): { path: string; exp: number } {
    const check = this.deps.signer.verify(scope, hex, exp, sig);
    if (!check.ok) throw signatureProblem(check);
    const hash = hashOfHex(hex);
    const file =
      scope === 'clip'
        ? previewClipPath(this.deps.dirs.previewClipsDir, hash)
        : gifPath(this.deps.dirs.gifsDir, hash);
    return { path: file, exp: check.exp };
  }

  /**
   * The preview clip of a video: its path when made; 422 when its job failed for good; else 404
   * (with Retry-After) after asking the transcoder for it.
   */
  async clip(video: LocatedVideo): Promise<string> {
    const state = await this.request('preview', video);
    if (state.state === 'ready') return previewClipPath(this.deps.dirs.previewClipsDir, video.contentHash);
    if (state.state === 'failed') throw unplayable('preview clip', video.relPath, state.error);
    throw new ProblemError(
      'not-found',
      `the preview clip of "${video.relPath}" is not made yet (${state.state})`,
      {
        headers: { 'Retry-After': String(VIDEO_RETRY_AFTER_SECONDS) },
      },
    );
  }

  /**
   * One page of videos, newest first (date taken, undated last), from one library or every Online
   * one, optionally under a folder. Each with signed clip and GIF URLs and whether the clip is
   * there; a missing clip is asked for (the transcoder makes one for every ingested video anyway,
   * this heals a job that was lost).
   */
  async wall(query: WallQuery): Promise<WallPage> {
    const libraries = await this.deps.librariesRepo.list();
    let libraryIds: number[];
    if (query.library !== undefined)
      libraryIds = [Number((await this.deps.libraries.resolve(query.library)).id)];
    else libraryIds = libraries.filter((l) => l.status !== 'stale').map((l) => Number(l.id));

    const page = await this.deps.photos.search({
      libraryIds,
      ...(query.path !== undefined ? { folder: { dir: query.path, recursive: query.recursive } } : {}),
      mediaType: 'video',
      sort: 'DateTakenDesc',
      limit: query.limit,
      ...(query.cursor ? { cursor: query.cursor } : {}),
    });
    const roots = new Map(libraries.map((l) => [Number(l.id), l]));
    const items = await Promise.all(
      page.items.map(async (item): Promise<WallItem> => {
        const base = {
          library: item.library,
          library_id: item.library_id,
          path: item.rel_path,
          file_name: item.file_name,
          date_taken: item.date_taken,
          duration_sec: item.duration_sec,
          width: item.width,
          height: item.height,
          stream_url: streamUrl(item.library_id, item.rel_path),
        };
        if (!item.content_hash) {
          return { ...base, clip_url: null, gif_url: null, clip_ready: false, clip_state: 'missing' };
        }
        const hex = contentHashHex(item.content_hash);
        let state = await this.stateOf('preview', item.content_hash);
        const library = roots.get(item.library_id);
        if (state.state === 'missing' && library) {
          state = await this.#askForClip(library, item.rel_path, item.content_hash);
        }
        return {
          ...base,
          clip_url: this.signedUrl('clip', hex, `/video/clip/${hex}.mp4`),
          gif_url: this.signedUrl('gif', hex, `/video/gif/${hex}.gif`),
          clip_ready: state.state === 'ready',
          clip_state: state.state,
          ...('error' in state && state.error !== undefined ? { clip_error: state.error } : {}),
        };
      }),
    );
    return { items, total: page.total, next_cursor: page.nextCursor };
  }

  /** `<pathname>?exp=&sig=` for `scope` of `hex`. */
  signedUrl(scope: SignedScope, hex: string, pathname: string): string {
    return `${pathname}?${signatureQuery(this.deps.signer.sign(scope, hex))}`;
  }

  /** Enqueue the preview of a wall item; a file that moved or a bus hiccup leaves it missing. */
  async #askForClip(library: LibraryRow, relPath: string, contentHash: string): Promise<VideoState> {
    let realPath: string;
    try {
      realPath = (await resolveInsideRoot(library.root, relPath)).realPath;
      if (!(await fs.stat(realPath)).isFile()) return { state: 'missing' };
    } catch {
      // Gone or unreadable since it was ingested (the watcher will see to the row), or the root is
      // unmounted: no job for it, and no reason to fail the whole page.
      return { state: 'missing' };
    }
    try {
      return await this.request('preview', {
        library,
        relPath,
        realPath,
        contentHash,
        hex: contentHashHex(contentHash),
      });
    } catch (err) {
      if (!(err instanceof ProblemError)) throw err;
      this.deps.logger.warn({ contentHash, relPath, error: err.detail }, 'could not ask for a preview clip');
      return { state: 'missing' };
    }
  }
}

function unplayable(what: string, relPath: string, error: string): ProblemError {
  return new ProblemError('video-unplayable', `the ${what} of "${relPath}" cannot be made: ${error}`);
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

/** No transcoder answered (none running, or too slow): 503 with Retry-After. */
function transcoderProblem(err: unknown, what: string): ProblemError {
  const why =
    err instanceof NoResponderError
      ? 'no transcoder is running'
      : err instanceof TimeoutError
        ? 'the transcoder did not answer in time'
        : errorMessage(err);
  return new ProblemError('unavailable', `cannot ${what} right now: ${why}`, {
    headers: { 'Retry-After': String(VIDEO_RETRY_AFTER_SECONDS) },
  });
}
