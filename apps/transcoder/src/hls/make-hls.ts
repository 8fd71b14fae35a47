import fs from 'node:fs/promises';
import path from 'node:path';
import { claimStaging, hlsPaths, publishFolder, releaseStaging, removeStaleStaging } from '@lumen/video';
import { runFfmpeg } from '../ffmpeg-process.ts';
import { probeSource, type SourceFacts } from '../source-facts.ts';
import { progressLogger, realTimeFactor, type WorkContext } from '../work-context.ts';
import { avc1CodecOfTs, variantCodecs } from './hls-codecs.ts';
import { type HlsPlan, hlsFfmpegArgs, planHls } from './hls-plan.ts';
import { checkVariant, readHead, type VariantSummary, writeMasterPlaylist } from './hls-playlist.ts';

/** `manifest.json` in every HLS folder: what was made, from what, and how. */
export interface HlsManifest {
  contentHash: string;
  mode: HlsPlan['mode'];
  audio: HlsPlan['audio'];
  reason: string;
  /** Source duration (ffprobe), seconds. */
  durationSec: number | null;
  renditions: {
    name: string;
    width: number;
    height: number;
    /** Relative to the folder: `v0/index.m3u8`. */
    playlist: string;
    segments: number;
    durationSec: number;
    /** Peak and average segment bitrate, bit/s (`BANDWIDTH`, `AVERAGE-BANDWIDTH`). */
    bandwidth: number;
    averageBandwidth: number;
    /** `CODECS` in the master playlist, or null when it was left out. */
    codecs: string | null;
  }[];
  source: { videoCodec: string; audioCodec: string | null; width: number; height: number; rotation: number };
  createdAt: string;
  elapsedMs: number;
}

export interface MakeHlsResult {
  /** `existing`: the folder was already there (nothing run); `published`: made now. */
  outcome: 'existing' | 'published';
  dir: string;
  manifest: HlsManifest | null;
}

/** Generous limits: a remux reads the file once; a transcode may run well below real time. */
export function hlsTimeoutMs(mode: HlsPlan['mode'], durationSec: number | null): number {
  if (durationSec === null) return 12 * 60 * 60 * 1000;
  return mode === 'remux' ? 120_000 + durationSec * 2_000 : 300_000 + durationSec * 20_000;
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

function manifestOf(
  contentHash: string,
  facts: SourceFacts,
  plan: HlsPlan,
  variants: (VariantSummary & { codecs: string | null })[],
  elapsedMs: number,
): HlsManifest {
  return {
    contentHash,
    mode: plan.mode,
    audio: plan.audio,
    reason: plan.reason,
    durationSec: facts.durationSec,
    renditions: plan.renditions.map((r, i) => ({
      name: r.name,
      width: r.width,
      height: r.height,
      playlist: variants[i]?.playlist ?? `${r.name}/index.m3u8`,
      segments: variants[i]?.segments ?? 0,
      durationSec: variants[i]?.durationSec ?? 0,
      bandwidth: variants[i]?.peakBps ?? 0,
      averageBandwidth: variants[i]?.averageBps ?? 0,
      codecs: variants[i]?.codecs ?? null,
    })),
    source: {
      videoCodec: facts.video.codec,
      audioCodec: facts.audio?.codec ?? null,
      width: facts.video.width,
      height: facts.video.height,
      rotation: facts.video.rotation,
    },
    createdAt: new Date().toISOString(),
    elapsedMs,
  };
}

/** Enough of a segment's head to hold the first keyframe's SPS. */
const SEGMENT_HEAD_BYTES = 1024 * 1024;

/**
 * Checks the variant playlists ffmpeg wrote into `dir` (one per rendition, in plan order) and
 * writes `master.m3u8` from them: bitrates measured from the segments, CODECS from the first
 * segment's SPS and the audio plan.
 */
async function writeMaster(
  dir: string,
  facts: SourceFacts,
  plan: HlsPlan,
): Promise<(VariantSummary & { codecs: string | null })[]> {
  const variants = [];
  for (const rendition of plan.renditions) {
    const variant = await checkVariant(dir, `${rendition.name}/index.m3u8`);
    const video = avc1CodecOfTs(await readHead(variant.firstSegment, SEGMENT_HEAD_BYTES));
    variants.push({ ...variant, codecs: variantCodecs(video, plan.audio, facts.audio?.profile ?? null) });
  }
  await writeMasterPlaylist(
    dir,
    variants.map((v, i) => ({
      ...v,
      width: plan.renditions[i]?.width ?? 0,
      height: plan.renditions[i]?.height ?? 0,
    })),
  );
  return variants;
}

/**
 * Makes the HLS folder of one video: probe, plan (remux or transcode), run ffmpeg into a staging
 * folder, check the variants and write the master playlist, write `manifest.json`, rename the
 * folder into place. A folder that
 * already exists is complete (it only ever appears by rename), so then nothing runs.
 */
export async function makeHls(
  job: { sourcePath: string; contentHash: string },
  videoDir: string,
  ctx: WorkContext,
): Promise<MakeHlsResult> {
  const paths = hlsPaths(videoDir, job.contentHash);
  if (await exists(paths.master)) return { outcome: 'existing', dir: paths.dir, manifest: null };
  await fs.mkdir(path.dirname(paths.dir), { recursive: true });
  const removed = await removeStaleStaging(paths.dir);
  if (removed.length > 0)
    ctx.logger.info({ removed }, 'removed staging folders left by a crashed transcoder');

  const probeOptions = { signal: ctx.signal, ...(ctx.ffprobePath ? { ffprobePath: ctx.ffprobePath } : {}) };
  const facts = await probeSource(job.sourcePath, probeOptions);
  const plan = planHls(facts);
  const logger = ctx.logger.child({ mode: plan.mode });
  logger.info(
    {
      reason: plan.reason,
      audio: plan.audio,
      renditions: plan.renditions.map((r) => `${r.width}x${r.height}`),
      durationSec: facts.durationSec,
    },
    'making HLS',
  );

  const staging = claimStaging(paths.dir);
  const started = performance.now();
  try {
    await fs.mkdir(staging);
    await runFfmpeg(hlsFfmpegArgs(job.sourcePath, facts, plan), {
      cwd: staging,
      timeoutMs: hlsTimeoutMs(plan.mode, facts.durationSec),
      signal: ctx.signal,
      onProgress: progressLogger(logger, facts.durationSec),
      ...(ctx.stallTimeoutMs ? { stallTimeoutMs: ctx.stallTimeoutMs } : {}),
      ...(ctx.ffmpegPath ? { ffmpegPath: ctx.ffmpegPath } : {}),
    });
    const variants = await writeMaster(staging, facts, plan);
    const elapsedMs = Math.round(performance.now() - started);
    const manifest = manifestOf(job.contentHash, facts, plan, variants, elapsedMs);
    await fs.writeFile(path.join(staging, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    const outcome = await publishFolder(staging, paths.dir);
    logger.info(
      {
        elapsedMs,
        mediaSec: facts.durationSec,
        speedX: realTimeFactor(facts.durationSec, elapsedMs),
        outcome,
      },
      'HLS ready',
    );
    return { outcome, dir: paths.dir, manifest: outcome === 'published' ? manifest : null };
  } finally {
    await releaseStaging(staging);
  }
}
