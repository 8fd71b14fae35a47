// @ts-check
/**
 * The directory walk, run in a worker thread so a 100k-file tree never blocks the event loop of
 * the process (the API may share it). Plain JavaScript on purpose: a worker starts without the TS
 * loader, and this file needs nothing but node built-ins.
 *
 * Synchronous fs calls are the fastest walk (no Promise per file) and are fine here: this thread
 * does nothing else. One message per directory: `{ type: 'dir', dir, dirMtimeMs, files }`, then
 * `{ type: 'done', stats }`. Backpressure: at most `maxInFlight` messages are unconsumed at once
 * (a shared counter the main thread decrements), so a slow consumer keeps memory flat.
 *
 * Skipped: dot-files and dot-folders, folders named in `skipDirNames`, symlinks whose target leaves
 * the root (or is broken), and symlinked folders (their real path inside the root is walked anyway;
 * not following them also rules out loops). Symlinked files inside the root are listed.
 *
 * Two lists ride along with each directory: `unreadable`, the names that were not valid UTF-8 (they
 * arrive as strings with U+FFFD, which no call can open, so they are neither stat'ed nor descended
 * into; the scan counts them as skipped), and `uploadTemps`, the upload temporary files
 * (`uploadTempPattern`, dot-files) with their mtimes, so the scan can remove leftovers.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';

const IN_FLIGHT = 0;
const CANCEL = 1;
const FS_OPS = 2;

/** @type {{ root: string, skipDirNames: string[], maxInFlight: number, shared: SharedArrayBuffer, uploadTempPattern: string }} */
const { root, skipDirNames, maxInFlight, shared, uploadTempPattern } = workerData;
const uploadTemp = new RegExp(uploadTempPattern);
const state = new Int32Array(shared);
const skip = new Set(skipDirNames);
const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);

const stats = { dirs: 0, files: 0, skippedSymlinks: 0, errors: 0 };

/** @param {unknown} message */
function post(message) {
  for (;;) {
    if (Atomics.load(state, CANCEL) !== 0) return false;
    const inFlight = Atomics.load(state, IN_FLIGHT);
    if (inFlight < maxInFlight) break;
    Atomics.wait(state, IN_FLIGHT, inFlight, 1000);
  }
  Atomics.add(state, IN_FLIGHT, 1);
  port.postMessage(message);
  return true;
}

function tick() {
  Atomics.add(state, FS_OPS, 1);
}

/** @param {unknown} err */
function describe(err) {
  const e = /** @type {NodeJS.ErrnoException} */ (err);
  return { code: e?.code ?? 'EUNKNOWN', message: e?.message ?? String(err) };
}

/** The root with one trailing separator: paths are built by concatenation (path.join is slower). */
const rootPrefix = root.endsWith(path.sep) ? root : root + path.sep;
let realRoot = root;
try {
  realRoot = fs.realpathSync(root);
} catch {
  // the first readdir reports the error
}

/** @param {string} real */
function insideRoot(real) {
  return real === realRoot || real.startsWith(realRoot.endsWith(path.sep) ? realRoot : realRoot + path.sep);
}

/** @type {string[]} */
const stack = [''];
while (stack.length > 0 && Atomics.load(state, CANCEL) === 0) {
  const rel = /** @type {string} */ (stack.pop());
  const abs = rel === '' ? root : rootPrefix + rel;
  const entryPrefix = rel === '' ? rootPrefix : `${abs}/`;
  /** @type {fs.Dirent[]} */
  let entries;
  let dirMtimeMs;
  try {
    tick();
    dirMtimeMs = fs.statSync(abs).mtimeMs;
    tick();
    entries = fs.readdirSync(abs, { withFileTypes: true });
  } catch (err) {
    stats.errors++;
    post({ type: 'error', dir: rel, ...describe(err) });
    continue;
  }
  stats.dirs++;
  /** @type {{ name: string, size: number, mtimeMs: number }[]} */
  const files = [];
  /** @type {string[]} */
  const unreadable = [];
  /** @type {{ name: string, mtimeMs: number }[]} */
  const uploadTemps = [];
  for (const entry of entries) {
    const name = entry.name;
    if (name.startsWith('.')) {
      if (entry.isFile() && uploadTemp.test(name)) {
        try {
          tick();
          uploadTemps.push({ name, mtimeMs: fs.statSync(entryPrefix + name).mtimeMs });
        } catch {
          // gone already (the upload finished)
        }
      }
      continue;
    }
    if (name.includes('\uFFFD')) {
      unreadable.push(name);
      continue;
    }
    const full = entryPrefix + name;
    if (entry.isDirectory()) {
      if (!skip.has(name)) stack.push(rel === '' ? name : `${rel}/${name}`);
      continue;
    }
    if (entry.isSymbolicLink()) {
      try {
        tick();
        const real = fs.realpathSync(full);
        if (!insideRoot(real)) {
          stats.skippedSymlinks++;
          continue;
        }
        tick();
        const st = fs.statSync(real);
        if (st.isFile()) files.push({ name, size: st.size, mtimeMs: st.mtimeMs });
        else stats.skippedSymlinks++;
      } catch {
        stats.skippedSymlinks++;
      }
      continue;
    }
    if (!entry.isFile()) continue;
    try {
      tick();
      const st = fs.statSync(full);
      files.push({ name, size: st.size, mtimeMs: st.mtimeMs });
    } catch {
      // gone between readdir and stat, or unreadable: the next scan sees it again
    }
  }
  stats.files += files.length;
  post({ type: 'dir', dir: rel, dirMtimeMs, files, unreadable, uploadTemps });
}
post({ type: 'done', stats });
