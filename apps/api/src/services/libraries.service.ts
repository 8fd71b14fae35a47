import fs from 'node:fs/promises';
import path from 'node:path';
import { shownLibraryStatus } from '@lumen/core';
import type {
  LibrariesRepository,
  LibraryRow,
  MediaTypeCounts,
  MissingFilesRepository,
  ReadCache,
} from '@lumen/db';
import { type FieldError, ProblemError } from '../http/problem.ts';

/** The same rule as the `LIBRARIES` variable: letters, digits, space, `_ . -`, at most 64. */
export const LIBRARY_NAME_PATTERN = /^[\w .-]{1,64}$/;

/** A library as the api shows it; `root` only to admins (it is a path on the server). */
export interface LibraryView {
  id: number;
  name: string;
  root?: string;
  /** stale (probe), suspect (the mass-disappearance brake holds), else online. */
  status: 'online' | 'stale' | 'suspect';
  status_reason: string | null;
  status_changed_at: string | null;
  /** Why many files look vanished at once; null when not suspect. Kept after a confirmation. */
  suspect_reason: string | null;
  suspect_since: string | null;
  /** The `suspect_since` of the episode an admin confirmed (POST /libraries/{id}/confirm-missing). */
  missing_confirmed_at: string | null;
  last_quick_scan_at: string | null;
  last_full_scan_at: string | null;
  /** The watcher replica that watches it now (the holder of the watcher lease); null: none answers. */
  watched_by: string | null;
  /** Present files by type; `missing`: files found gone, hidden and kept for the grace period. */
  counts: MediaTypeCounts & { missing: number };
}

const NO_FILES: MediaTypeCounts = { photo: 0, raw: 0, video: 0, total: 0 };

function invalidField(name: string, message: string): ProblemError {
  const errors: FieldError[] = [{ in: 'body', name, message }];
  return new ProblemError('validation', `${name}: ${message}`, { errors });
}

/** A unique-constraint violation from SQLite or Postgres (a concurrent create won the race). */
function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === '23505';
}

function errnoCode(err: unknown): string {
  return String((err as { code?: unknown } | null)?.code ?? 'error');
}

/** The library name as given, trimmed; throws a validation problem naming `name`. */
export function checkLibraryName(raw: string): string {
  const name = raw.trim();
  if (!LIBRARY_NAME_PATTERN.test(name)) {
    throw invalidField('name', 'use 1 to 64 letters, digits, spaces, _ . or -');
  }
  if (/^\d+$/.test(name)) {
    // `library=3` looks up id 3 first: a name of digits only could be shadowed by an id.
    throw invalidField('name', 'a name of digits only would be taken for a library id; add a letter');
  }
  return name;
}

/** The root normalized (`path.resolve`); throws a validation problem naming `root` unless it is an absolute, readable directory. */
export async function checkLibraryRoot(raw: string): Promise<string> {
  if (raw.includes('\0')) throw invalidField('root', 'contains a NUL byte');
  if (!path.isAbsolute(raw)) throw invalidField('root', `"${raw}" is not an absolute path`);
  const root = path.resolve(raw);
  let stats: Awaited<ReturnType<typeof fs.stat>>;
  try {
    stats = await fs.stat(root);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') throw invalidField('root', `${root} does not exist`);
    throw invalidField('root', `${root} cannot be read (${code})`);
  }
  if (!stats.isDirectory()) throw invalidField('root', `${root} is not a directory`);
  try {
    await fs.access(root, fs.constants.R_OK | fs.constants.X_OK);
  } catch (err) {
    throw invalidField('root', `${root} cannot be listed by the server (${errnoCode(err)})`);
  }
  return root;
}

async function realpathOrUndefined(file: string): Promise<string | undefined> {
  try {
    return await fs.realpath(file);
  } catch {
    return undefined;
  }
}

function toView(
  row: LibraryRow,
  counts: MediaTypeCounts | undefined,
  missing: number,
  includeRoot: boolean,
  watchedBy: string | null,
): LibraryView {
  const suspect = {
    suspectReason: row.suspect_reason,
    suspectSince: row.suspect_since,
    missingConfirmedAt: row.missing_confirmed_at,
  };
  const status = shownLibraryStatus(row.status === 'stale' ? 'stale' : 'online', suspect);
  return {
    id: Number(row.id),
    name: row.name,
    ...(includeRoot ? { root: row.root } : {}),
    status,
    status_reason: status === 'suspect' ? row.suspect_reason : row.status_reason,
    status_changed_at: row.status_changed_at,
    suspect_reason: row.suspect_reason,
    suspect_since: row.suspect_since,
    missing_confirmed_at: row.missing_confirmed_at,
    last_quick_scan_at: row.last_quick_scan_at,
    last_full_scan_at: row.last_full_scan_at,
    watched_by: watchedBy,
    counts: { ...(counts ?? NO_FILES), missing },
  };
}

/**
 * Libraries: listing with status and file counts, adding one (admin), and finding the one a request
 * names. The api only writes the `libraries` row; the watcher reads the table on every tick, so a new
 * library is probed and scanned on its next tick.
 */
export class LibrariesService {
  /**
   * `reads`: keeps what `resolve` found until the database changes (see ReadCache): every image
   * request resolves its library, and a library changes only by a write.
   */
  constructor(
    private readonly libraries: LibrariesRepository,
    private readonly missingFiles: MissingFilesRepository,
    private readonly reads?: ReadCache,
    /** The replica holding the watcher lease, if any (read from the bus's key-value store). */
    private readonly watcherHolder: () => Promise<string | undefined> = async () => undefined,
  ) {}

  /** Every library by id, with its file counts (one query for all, one for the missing ones). */
  async list(opts: { includeRoot: boolean }): Promise<LibraryView[]> {
    const [rows, counts, missing, holder] = await Promise.all([
      this.libraries.list(),
      this.libraries.fileCountsByLibrary(),
      this.missingFiles.countByLibrary(),
      this.watcherHolder().catch(() => undefined),
    ]);
    return rows.map((row) =>
      toView(
        row,
        counts.get(Number(row.id)),
        missing.get(Number(row.id)) ?? 0,
        opts.includeRoot,
        holder ?? null,
      ),
    );
  }

  /**
   * An admin confirms that the files of a suspect library are really gone (POST
   * /libraries/{id}/confirm-missing): the brake of the episode in progress is released, so the
   * watcher marks them missing on its next tick (deleted after MISSING_GRACE_SECONDS, as always).
   * 404 for an unknown library, 409 when it is not suspect.
   */
  async confirmMissing(idOrName: string): Promise<LibraryView> {
    const library = await this.libraries.findByIdOrName(idOrName);
    if (!library) throw new ProblemError('not-found', `no library "${idOrName}" (give its id or its name)`);
    if (!(await this.libraries.confirmMissing(Number(library.id)))) {
      throw new ProblemError(
        'conflict',
        `library "${library.name}" is not suspect: there is nothing to confirm (see GET /libraries)`,
      );
    }
    const view = (await this.list({ includeRoot: true })).find((v) => v.id === Number(library.id));
    if (!view) throw new ProblemError('not-found', `no library "${idOrName}" (give its id or its name)`);
    return view;
  }

  /**
   * Add a library. 400 (naming the field) for a bad name or a root that is not an absolute existing
   * directory, 409 when the name (case-insensitively) or the same directory is already a library.
   */
  async create(input: { name: string; root: string }): Promise<LibraryView> {
    const name = checkLibraryName(input.name);
    const root = await checkLibraryRoot(input.root);

    const sameName = await this.libraries.findByName(name);
    if (sameName) throw new ProblemError('conflict', `a library named "${sameName.name}" already exists`);
    const realRoot = await realpathOrUndefined(root);
    for (const library of await this.libraries.list()) {
      if (library.root === root || (realRoot && (await realpathOrUndefined(library.root)) === realRoot)) {
        throw new ProblemError('conflict', `${root} is already the root of library "${library.name}"`);
      }
    }
    try {
      const holder = await this.watcherHolder().catch(() => undefined);
      return toView(await this.libraries.create({ name, root }), undefined, 0, true, holder ?? null);
    } catch (err) {
      if (isUniqueViolation(err))
        throw new ProblemError('conflict', `a library named "${name}" already exists`);
      throw err;
    }
  }

  /**
   * The library a request names by id or name (`"3"` is id 3 first, then a library named "3"), or the
   * first library (lowest id) when it names none. 404 when there is no such library.
   */
  async resolve(idOrName: string | undefined): Promise<LibraryRow> {
    const find = async () =>
      idOrName === undefined || idOrName === ''
        ? (await this.libraries.list())[0]
        : this.libraries.findByIdOrName(idOrName);
    const library = this.reads ? await this.reads.get(`library:${idOrName ?? ''}`, find) : await find();
    if (library) return library;
    if (idOrName === undefined || idOrName === '') {
      throw new ProblemError('not-found', 'no library is configured yet');
    }
    throw new ProblemError('not-found', `no library "${idOrName}" (give its id or its name)`);
  }
}
