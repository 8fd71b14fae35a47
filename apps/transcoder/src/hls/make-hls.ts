import fs from 'node:fs/promises';
import path from 'node:path';
import { mediaPlaylist, segmentFileName } from '@lumen/core';
import { claimStaging, hlsPaths, publishFile, releaseStaging } from '@lumen/video';
import { probeSource, type SourceFacts } from '../source-facts.ts';
import { ensureStreamPlan } from '../stream/plan-stream.ts';
import type { SegmentRuns } from '../stream/segment-runs.ts';
import { realTimeFactor, type WorkContext } from '../work-context.ts';
import { avc1CodecOfTs, variantCodecs } from './hls-codecs.ts';
import type { HlsPlan } from './hls-plan.ts';
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
 * Makes the whole HLS stream of one video (the `video.hls` job, for videos nobody watches yet):
 * plans it (or reads its plan), then asks the segment runs for every segment of every rendition in
 * order, as a background reader: runs it starts are niced, a segment already made (by a viewer's
 * run, say) is skipped, and a run stops where it meets one. Then the folder gets static playlists
 * (`master.m3u8` with measured bitrates, `v<N>/index.m3u8`, relative URIs) and `manifest.json`,
 * which marks the stream complete.
 */
export async function makeHls(
  job: { sourcePath: string; contentHash: string },
  videoDir: string,
  ctx: WorkContext,
  runs: SegmentRuns,
): Promise<MakeHlsResult> {
  const paths = hlsPaths(videoDir, job.contentHash);
  if ((await exists(paths.plan)) && (await exists(paths.manifest))) {
    return { outcome: 'existing', dir: paths.dir, manifest: null };
  }
  const started = performance.now();
  const plan = await ensureStreamPlan(job, videoDir, ctx);
  const logger = ctx.logger.child({ mode: plan.mode });
  logger.info(
    {
      reason: plan.reason,
      audio: plan.audio,
      renditions: plan.renditions.map((r) => `${r.width}x${r.height}`),
      durationSec: plan.durationSec,
      segments: plan.segments.length,
    },
    'making HLS',
  );
  let made = 0;
  for (const rendition of plan.renditions) {
    for (let index = 0; index < plan.segments.length; index++) {
      const origin = await runs.segment(plan, rendition.name, index, { background: true });
      if (origin.made === 'run') made++;
    }
  }
  // The source's facts for the manifest and CODECS (a copied AAC keeps its profile).
  const probeOptions = { signal: ctx.signal, ...(ctx.ffprobePath ? { ffprobePath: ctx.ffprobePath } : {}) };
  const facts = await probeSource(plan.sourcePath, probeOptions);
  const hls: HlsPlan = {
    mode: plan.mode,
    audio: plan.audio,
    reason: plan.reason,
    renditions: plan.renditions.map((r) => ({
      name: r.name,
      width: r.width,
      height: r.height,
      maxrateKbps: r.maxrateKbps,
    })),
  };
  for (const rendition of plan.renditions) {
    const segments = plan.segments.map((s, index) => ({ index, ...s }));
    await writeAtomically(
      path.join(paths.dir, rendition.name, 'index.m3u8'),
      mediaPlaylist(segments, (index) => segmentFileName(index)),
    );
  }
  const variants = await writeMaster(paths.dir, facts, hls);
  const elapsedMs = Math.round(performance.now() - started);
  const manifest = manifestOf(job.contentHash, facts, hls, variants, elapsedMs);
  await writeAtomically(paths.manifest, `${JSON.stringify(manifest, null, 2)}\n`);
  logger.info(
    {
      elapsedMs,
      segmentsMade: made,
      segments: plan.segments.length * plan.renditions.length,
      mediaSec: plan.durationSec,
      speedX: realTimeFactor(plan.durationSec, elapsedMs),
    },
    'HLS ready',
  );
  return { outcome: 'published', dir: paths.dir, manifest };
}

async function writeAtomically(file: string, text: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const staging = claimStaging(file);
  try {
    await fs.writeFile(staging, text);
    await publishFile(staging, file);
  } finally {
    await releaseStaging(staging);
  }
}
