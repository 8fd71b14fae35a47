import fs from 'node:fs/promises';
import path from 'node:path';
import { type StreamPlan, StreamPlanSchema } from '@lumen/core';
import { hlsPaths } from './output-paths.ts';
import { claimStaging, publishFile, releaseStaging } from './staging.ts';

/**
 * The stream plan of a video (`stream.json` in its HLS folder), or undefined when there is none
 * (never planned, or a file this version cannot read: it is planned again).
 */
export async function readStreamPlan(videoDir: string, contentHash: string): Promise<StreamPlan | undefined> {
  let text: string;
  try {
    text = await fs.readFile(hlsPaths(videoDir, contentHash).plan, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = StreamPlanSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Writes `stream.json` atomically (staged beside it, renamed). */
export async function writeStreamPlan(videoDir: string, plan: StreamPlan): Promise<void> {
  const file = hlsPaths(videoDir, plan.contentHash).plan;
  await fs.mkdir(path.dirname(file), { recursive: true });
  const staging = claimStaging(file);
  try {
    await fs.writeFile(staging, `${JSON.stringify(StreamPlanSchema.parse(plan))}\n`);
    await publishFile(staging, file);
  } finally {
    await releaseStaging(staging);
  }
}
