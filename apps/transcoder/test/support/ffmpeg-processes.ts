import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

/**
 * True while an ffmpeg process has `file` open. By its open descriptors, not its command line: the
 * transcoder hands ffmpeg the checked descriptor of the source (`/proc/<pid>/fd/<fd>`), not its name.
 */
export function ffmpegRunningOn(file: string): boolean {
  return ffmpegCountOn(file) > 0;
}

/** How many ffmpeg processes have `file` open now (by their open descriptors, as above). */
export function ffmpegCountOn(file: string): number {
  let pids: string[];
  try {
    pids = execFileSync('pgrep', ['-x', 'ffmpeg'], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  } catch {
    return 0; // pgrep exits 1 when nothing matches
  }
  const wanted = fs.realpathSync(file);
  return pids.filter((pid) => {
    try {
      return fs.readdirSync(`/proc/${pid}/fd`).some((fd) => {
        try {
          return fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === wanted;
        } catch {
          return false;
        }
      });
    } catch {
      return false; // exited meanwhile
    }
  }).length;
}
