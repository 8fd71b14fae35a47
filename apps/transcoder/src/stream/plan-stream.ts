import fs from 'node:fs/promises';
import {
  announcedBandwidth,
  fixedSegments,
  HLS_SEGMENT_SECONDS,
  keyframeSegments,
  type StreamPlan,
  TRANSCODE_SEGMENT_SECONDS,
} from '@lumen/core';
import { openCheckedPath } from '@lumen/media';
import { hlsPaths, readStreamPlan, writeStreamPlan } from '@lumen/video';
import { naming } from '../ffmpeg-process.ts';
import { type HlsPlan, planHls, type Rendition } from '../hls/hls-plan.ts';
import { probeKeyframes, probeSource, type SourceFacts } from '../source-facts.ts';
import type { WorkContext } from '../work-context.ts';

/** AAC as encoded (`-b:a 128k`), or a generous guess for copied audio, kbit/s. */
const AUDIO_KBPS = 128;
/** BANDWIDTH of a copied variant when the source says no bitrate, kbit/s. */
const UNKNOWN_COPY_KBPS = 8000;

/**
 * The x264 preset of a rendition. The first rendition a viewer gets (the largest, listed first) must
 * give its first segment after a seek in well under 2 s on a small machine (2 cores), which on a
 * 1080p HEVC source only `ultrafast` does (1.4 s; `superfast` 2.2 s, see docs/decisions.md
 * "Instant video: 2 s segments"); 720p uses `superfast`, smaller ones `veryfast`.
 */
export function presetFor(rendition: Pick<Rendition, 'width' | 'height'>): string {
  const pixels = rendition.width * rendition.height;
  if (pixels > 1280 * 720 * 1.2) return 'ultrafast';
  if (pixels > 854 * 480 * 1.2) return 'superfast';
  return 'veryfast';
}

/** The plan of a stream from ffprobe facts (and, for the copy path, the keyframe times). Pure. */
export function streamPlanOf(
  job: { contentHash: string; sourcePath: string },
  facts: SourceFacts,
  hls: HlsPlan,
  keyframesSec: readonly number[] | null,
  now = new Date(),
): StreamPlan {
  if (facts.durationSec === null) throw new Error('the source has no known duration: it cannot be streamed');
  const segments =
    hls.mode === 'remux'
      ? keyframeSegments(keyframesSec ?? [], facts.durationSec, HLS_SEGMENT_SECONDS)
      : fixedSegments(facts.durationSec, TRANSCODE_SEGMENT_SECONDS);
  return {
    version: 1,
    contentHash: job.contentHash,
    sourcePath: job.sourcePath,
    mode: hls.mode,
    audio: hls.audio,
    reason: hls.reason,
    durationSec: facts.durationSec,
    videoIndex: facts.video.index,
    audioIndex: hls.audio === 'none' || !facts.audio ? null : facts.audio.index,
    fps: facts.video.fps,
    renditions: hls.renditions.map((r) => ({
      name: r.name,
      width: r.width,
      height: r.height,
      maxrateKbps: r.maxrateKbps,
      preset: hls.mode === 'transcode' ? presetFor(r) : null,
      bandwidth: announcedBandwidth(
        r.maxrateKbps ?? UNKNOWN_COPY_KBPS,
        hls.audio === 'none' ? 0 : AUDIO_KBPS,
      ),
      codecs: null,
    })),
    segments: segments.map((s) => ({ startSec: s.startSec, durationSec: s.durationSec })),
    createdAt: now.toISOString(),
  };
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

/** Single flight per video within this process. */
const planning = new Map<string, Promise<StreamPlan>>();

/**
 * The stream plan of a video: `stream.json` when it exists, else probed (ffprobe; keyframes too for
 * the copy path) and written. A folder of the layout before segments on demand (a master playlist
 * and no plan) is removed first: its segments were cut elsewhere.
 */
export function ensureStreamPlan(
  job: { contentHash: string; sourcePath: string },
  videoDir: string,
  ctx: WorkContext,
): Promise<StreamPlan> {
  const running = planning.get(job.contentHash);
  if (running) return running;
  const made = (async () => {
    const existing = await readStreamPlan(videoDir, job.contentHash);
    if (existing) {
      if (existing.sourcePath === job.sourcePath || (await exists(existing.sourcePath))) return existing;
      // The file moved (same content): the plan holds, its runs read the new path.
      const moved = { ...existing, sourcePath: job.sourcePath };
      await writeStreamPlan(videoDir, moved);
      return moved;
    }
    const paths = hlsPaths(videoDir, job.contentHash);
    const legacy = await exists(paths.master);
    if (legacy) {
      ctx.logger.info(
        { dir: paths.dir },
        'removing an HLS folder of the old layout; it is made on demand now',
      );
      await fs.rm(paths.dir, { recursive: true, force: true });
    }
    const probeOptions = { signal: ctx.signal, ...(ctx.ffprobePath ? { ffprobePath: ctx.ffprobePath } : {}) };
    // ffprobe reads the opened, checked source (/proc/<pid>/fd/<fd>), not a path that could be swapped.
    const source = await openCheckedPath(job.sourcePath);
    let facts: Awaited<ReturnType<typeof probeSource>>;
    let keyframes: Awaited<ReturnType<typeof probeKeyframes>> | null;
    let hls: ReturnType<typeof planHls>;
    try {
      facts = await probeSource(source.procPath, probeOptions);
      hls = planHls(facts);
      keyframes =
        hls.mode === 'remux' ? await probeKeyframes(source.procPath, facts.video.index, probeOptions) : null;
    } catch (err) {
      throw naming(err, source.procPath, job.sourcePath);
    } finally {
      await source.close();
    }
    const plan = streamPlanOf(job, facts, hls, keyframes);
    await writeStreamPlan(videoDir, plan);
    ctx.logger.info(
      {
        contentHash: job.contentHash,
        mode: plan.mode,
        reason: plan.reason,
        segments: plan.segments.length,
        renditions: plan.renditions.map((r) => `${r.name} ${r.width}x${r.height} ${r.preset ?? 'copy'}`),
      },
      'stream planned',
    );
    return plan;
  })().finally(() => planning.delete(job.contentHash));
  planning.set(job.contentHash, made);
  return made;
}
