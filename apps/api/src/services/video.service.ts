import fs from 'node:fs/promises';
import path from 'node:path';
import type { Bus } from '@lumen/bus';
import { type PhotoCursor, resolveInsideRoot, type VideoJob } from '@lumen/core';
import type { ImageExifRow, LibrariesRepository, LibraryRow, PhotosRepository } from '@lumen/db';
import { contentHashHex, errorMessage } from '@lumen/media';
import type { Logger } from '@lumen/runtime';
import {
  enqueueVideoJob,
  gifPath,
  HLS_FILE_PATTERN,
  HLS_MASTER_PLAYLIST,
  hlsPaths,
  previewClipPath,
  readVideoOutputState,
  type VideoOutputDirs,
  type VideoOutputKind,
} from '@lumen/video';
import { ProblemError } from '../http/problem.ts';
import { PlaylistRewriteError, rewritePlaylist } from './hls-playlist-rewriter.ts';
import { fileProblem, type ImagesService } from './images.service.ts';
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
    let isFile: boolean;
    try {
      isFile = (await fs.stat(file.realPath)).isFile();
    } catch (err) {
      throw fileProblem(err, `"${file.relPath}" in library "${file.library.name}"`);
    }
    if (!isFile) throw new ProblemError('not-found', `"${file.relPath}" is not a file`);
    return {
      library: file.library,
      relPath: file.relPath,
      realPath: file.realPath,
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
   * The master playlist of a ready stream, its variant URLs rewritten to signed absolute-path URLs
   * (`/video/hls/<hex>/v0/index.m3u8?exp=&sig=`); or the state while it is not ready (enqueued when
   * nothing is under way). A failed stream is 422 `video-unplayable` with the ffmpeg error.
   */
  async masterPlaylist(video: LocatedVideo): Promise<{ playlist: string } | { pending: VideoState }> {
    const state = await this.request('hls', video);
    if (state.state === 'failed') throw unplayable('stream', video.relPath, state.error);
    if (state.state !== 'ready') return { pending: state };
    const signature = this.deps.signer.sign('hls', video.hex);
    const file = hlsPaths(this.deps.dirs.videoDir, video.contentHash).master;
    return { playlist: await this.#rewrite(file, HLS_MASTER_PLAYLIST, video.hex, signature) };
  }

  /**
   * A file of an HLS folder through a signed URL: the signature must be for `hls` of this very hex
   * (401 without one, 403 for a bad or expired one), then the name must be a playlist or segment of
   * an HLS folder (404 otherwise). Playlists come back rewritten with the same signature (so the
   * URLs inside expire with it); segments as a path to stream.
   */
  async hlsFile(
    hex: string,
    file: string,
    exp: string | undefined,
    sig: string | undefined,
  ): Promise<HlsFile> {
    const check = this.deps.signer.verify('hls', hex, exp, sig);
    if (!check.ok) throw signatureProblem(check);
    if (!HLS_FILE_PATTERN.test(file) || !(file.endsWith('.m3u8') || file.endsWith('.ts'))) {
      throw new ProblemError('not-found', `an HLS folder has no file "${file}"`);
    }
    const absPath = path.join(hlsPaths(this.deps.dirs.videoDir, hashOfHex(hex)).dir, ...file.split('/'));
    if (file.endsWith('.ts')) return { type: 'segment', path: absPath, exp: check.exp };
    const signature = { exp: check.exp, sig: sig as string };
    return { type: 'playlist', body: await this.#rewrite(absPath, file, hex, signature), exp: check.exp };
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

  /** Read a playlist of the HLS folder of `hex` and sign every URI in it with `signature`. */
  async #rewrite(
    absPath: string,
    playlistPath: string,
    hex: string,
    signature: UrlSignature,
  ): Promise<string> {
    let text: string;
    try {
      text = await fs.readFile(absPath, 'utf8');
    } catch (err) {
      throw fileProblem(err, `the HLS file ${playlistPath}`);
    }
    const query = signatureQuery(signature);
    try {
      return rewritePlaylist(text, playlistPath, (file) => `/video/hls/${hex}/${file}?${query}`);
    } catch (err) {
      if (err instanceof PlaylistRewriteError) {
        this.deps.logger.error({ err, hex, playlistPath }, 'an HLS playlist names a file it should not');
        throw new ProblemError('internal', 'the stream of this video is damaged; see the server log');
      }
      throw err;
    }
  }
}

function unplayable(what: string, relPath: string, error: string): ProblemError {
  return new ProblemError('video-unplayable', `the ${what} of "${relPath}" cannot be made: ${error}`);
}
