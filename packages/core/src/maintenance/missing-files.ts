/**
 * Pure rules of the missing-file state (SPEC 3.1 as amended): when a folder "lists empty", when a
 * library's disappearances look like a mount rather than a person, and when a missing file's grace
 * period is over. The watcher applies them (apps/watcher/src/maintenance/missing-file-scan.ts).
 */

/**
 * An entry that does not count when deciding whether a folder lists empty: hidden files and
 * folders (a leading dot: `.DS_Store`, `.lumen-library`, `.snapshot`, `@eaDir` does not qualify).
 * An unmounted mount point, or one holding only the marker we wrote, lists nothing else.
 */
export function isHiddenEntry(name: string): boolean {
  return name.startsWith('.');
}

/** True when no entry but hidden ones is listed (see isHiddenEntry). */
export function listsNoVisibleEntry(names: Iterable<string>): boolean {
  for (const name of names) if (!isHiddenEntry(name)) return false;
  return true;
}

/** `'a/b/c'` -> `['a/b/c', 'a/b', 'a']`; `''` (the root) -> `[]`. Posix, relative to the root. */
export function foldersBelowRoot(dir: string): string[] {
  const out: string[] = [];
  let current = dir;
  while (current !== '') {
    out.push(current);
    const slash = current.lastIndexOf('/');
    current = slash < 0 ? '' : current.slice(0, slash);
  }
  return out;
}

/** When a tick's disappearances are too many to be a person's (MISSING_SUSPECT_*). */
export interface MissingBrakeThresholds {
  /** The share rule needs at least this many rows checked on the tick (default 20). */
  minChecked: number;
  /** More than this share of the checked rows missing at once is suspect (default 0.5). */
  maxShare: number;
}

export const DEFAULT_MISSING_BRAKE: MissingBrakeThresholds = { minChecked: 20, maxShare: 0.5 };

export interface MissingTickObservation {
  /** Rows stat'ed on this tick that were present before it. */
  checked: number;
  /** Of those, how many were NotFound. */
  vanished: number;
  /** Present rows of the whole library before this tick. */
  libraryRows: number;
}

/**
 * The share rule of the mass-disappearance brake: more than `maxShare` of at least `minChecked`
 * checked rows vanished at once, or every row of a library smaller than `minChecked`. Returns the
 * reason, or undefined when the tick looks like ordinary deletions. The reason is the same text
 * while the same condition lasts (no counts in it): a suspect episode lasts as long as its reason,
 * and an admin's confirmation is for one episode.
 */
export function massDisappearance(
  tick: MissingTickObservation,
  thresholds: MissingBrakeThresholds = DEFAULT_MISSING_BRAKE,
): string | undefined {
  const { checked, vanished, libraryRows } = tick;
  if (vanished === 0) return undefined;
  if (checked >= thresholds.minChecked && vanished > thresholds.maxShare * checked) {
    const percent = Math.round(thresholds.maxShare * 100);
    return `more than ${percent}% of the files checked vanished at once: a dropped mount?`;
  }
  if (libraryRows < thresholds.minChecked && vanished >= libraryRows) {
    return 'every file of the library vanished at once: a dropped mount?';
  }
  return undefined;
}

/** The reason a folder that lists empty makes its library suspect. */
export function emptyFolderReason(folder: string): string {
  return `folder "${folder}" lists no files while the database holds files under it: a dropped nested mount?`;
}

/** True when a file marked missing at `missingSince` (ISO-8601) has been missing for `graceSeconds` at `nowMs`. */
export function graceExpired(missingSince: string, nowMs: number, graceSeconds: number): boolean {
  const since = Date.parse(missingSince);
  if (Number.isNaN(since)) return false; // unreadable: never expires (kept rather than deleted)
  return nowMs - since >= graceSeconds * 1000;
}

/** A library's suspect state as stored: the reason, since when, and the episode an admin confirmed. */
export interface SuspectState {
  suspectReason: string | null;
  suspectSince: string | null;
  /** `suspect_since` of the episode an admin confirmed (POST /libraries/{id}/confirm-missing). */
  missingConfirmedAt: string | null;
}

/**
 * Whether the brake holds: the library is suspect and an admin has not confirmed this episode.
 * An episode is one unbroken run of ticks with the same suspect reason; confirming stores its
 * `suspect_since`, so a later episode, or another reason (a new `suspect_since`), brakes again.
 */
export function brakeHolds(state: SuspectState): boolean {
  return state.suspectReason !== null && state.missingConfirmedAt !== state.suspectSince;
}

/** The status a library shows: Stale (probe), else suspect while the brake holds, else Online. */
export function shownLibraryStatus(
  probeStatus: 'online' | 'stale',
  state: SuspectState,
): 'online' | 'stale' | 'suspect' {
  if (probeStatus === 'stale') return 'stale';
  return brakeHolds(state) ? 'suspect' : 'online';
}
