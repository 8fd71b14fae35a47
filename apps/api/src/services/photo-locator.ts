import type { PhotoRef } from '@lumen/core';
import type { LibrariesRepository, LibraryRow, PhotoLocation, PhotosRepository } from '@lumen/db';
import { type FieldError, ProblemError } from '../http/problem.ts';

/** A photo found by location, with the content hash its tags and favorites hang on. */
export interface HashedPhoto {
  id: number;
  libraryId: number;
  /** The library's name. */
  library: string;
  relPath: string;
  contentHash: string;
}

/**
 * Finds what a request names: the libraries a search covers, and photos given as `{ path, library? }`.
 *
 * A photo without `library` is looked for in every library. Found in several, it is that photo when
 * they all hold the same content (a duplicate: tags and favorites follow the content anyway), the
 * copy in the lowest Online library id; different files under one path are a 400 that asks for
 * `library`. A photo must have a content hash to be tagged or marked favorite (409 until the
 * watcher has hashed it).
 */
export class PhotoLocator {
  constructor(
    private readonly libraries: LibrariesRepository,
    private readonly photos: PhotosRepository,
  ) {}

  /** The library a request names by id or name; 404 (naming `field`) when there is none. */
  async library(idOrName: string, field = 'library', location = 'query'): Promise<LibraryRow> {
    const library = await this.libraries.findByIdOrName(idOrName);
    if (!library) {
      const message = `no library "${idOrName}" (give its id or its name)`;
      throw new ProblemError('not-found', message, { errors: [{ in: location, name: field, message }] });
    }
    return library;
  }

  /** What a search covers: the named library, or every Online library when none is named. */
  async searchScope(idOrName: string | undefined): Promise<number[]> {
    if (idOrName !== undefined) return [Number((await this.library(idOrName)).id)];
    const all = await this.libraries.list();
    return all.filter((library) => library.status !== 'stale').map((library) => Number(library.id));
  }

  /** One photo; 404 for an unknown library or photo, 400 when ambiguous, 409 when not hashed yet. */
  async locate(ref: PhotoRef): Promise<HashedPhoto> {
    const [photo] = await this.locateAll([ref], { location: 'body', prefix: '' });
    return photo!;
  }

  /**
   * Many photos at once (one query per library and 500 paths), aligned with `refs`. Problems name
   * each bad entry, e.g. `items.3.path`; nothing is returned unless every photo is found.
   */
  async locateAll(
    refs: readonly PhotoRef[],
    naming: { location: string; prefix: string } = { location: 'body', prefix: 'items' },
  ): Promise<HashedPhoto[]> {
    const field = (index: number, name: string) =>
      naming.prefix === '' ? name : `${naming.prefix}.${index}.${name}`;
    const all = await this.libraries.list();
    const byId = new Map(all.map((library) => [Number(library.id), library]));

    // Named libraries, each resolved once.
    const named = new Map<string, LibraryRow>();
    const unknownLibraries: FieldError[] = [];
    for (const [index, ref] of refs.entries()) {
      if (ref.library === undefined || named.has(ref.library)) continue;
      const library = await this.libraries.findByIdOrName(ref.library);
      if (library) named.set(ref.library, library);
      else {
        unknownLibraries.push({
          in: naming.location,
          name: field(index, 'library'),
          message: `no library "${ref.library}"`,
        });
      }
    }
    if (unknownLibraries.length > 0) {
      throw new ProblemError('not-found', describe(unknownLibraries), { errors: unknownLibraries });
    }

    // Every (library, path) to look up: the named library, or each library for refs without one.
    const lookups: { index: number; libraryId: number; relPath: string }[] = [];
    for (const [index, ref] of refs.entries()) {
      const libraryIds =
        ref.library === undefined ? all.map((l) => Number(l.id)) : [Number(named.get(ref.library)!.id)];
      for (const libraryId of libraryIds) lookups.push({ index, libraryId, relPath: ref.path });
    }
    const found = await this.photos.locateMany(lookups);
    const candidates: PhotoLocation[][] = refs.map(() => []);
    for (const [i, lookup] of lookups.entries()) {
      const location = found[i];
      if (location) candidates[lookup.index]!.push(location);
    }

    const missing: FieldError[] = [];
    const ambiguous: FieldError[] = [];
    const unhashed: FieldError[] = [];
    const result: HashedPhoto[] = [];
    for (const [index, ref] of refs.entries()) {
      const where = ref.library === undefined ? 'in any library' : `in library "${ref.library}"`;
      const matches = candidates[index]!;
      if (matches.length === 0) {
        missing.push({
          in: naming.location,
          name: field(index, 'path'),
          message: `no photo "${ref.path}" ${where}`,
        });
        continue;
      }
      const hashes = new Set(matches.map((m) => m.content_hash));
      if (hashes.size > 1) {
        const names = matches.map((m) => byId.get(m.library_id)?.name ?? String(m.library_id));
        ambiguous.push({
          in: naming.location,
          name: field(index, 'library'),
          message: `"${ref.path}" names different files in libraries ${names.join(', ')}; give library`,
        });
        continue;
      }
      const chosen = preferOnline(matches, byId);
      if (chosen.content_hash === null) {
        unhashed.push({
          in: naming.location,
          name: field(index, 'path'),
          message: `"${ref.path}" has no content hash yet (the watcher has not finished it); try again shortly`,
        });
        continue;
      }
      result.push({
        id: chosen.id,
        libraryId: chosen.library_id,
        library: byId.get(chosen.library_id)?.name ?? String(chosen.library_id),
        relPath: chosen.rel_path,
        contentHash: chosen.content_hash,
      });
    }
    if (missing.length > 0) throw new ProblemError('not-found', describe(missing), { errors: missing });
    if (ambiguous.length > 0)
      throw new ProblemError('validation', describe(ambiguous), { errors: ambiguous });
    if (unhashed.length > 0) throw new ProblemError('conflict', describe(unhashed), { errors: unhashed });
    return result;
  }
}

/** The copy in an Online library (lowest id), else the first. */
function preferOnline(matches: PhotoLocation[], libraries: Map<number, LibraryRow>): PhotoLocation {
  const sorted = [...matches].sort((a, b) => a.library_id - b.library_id);
  return sorted.find((m) => libraries.get(m.library_id)?.status !== 'stale') ?? sorted[0]!;
}

/** `items.0.path: no photo ...; items.2.path: ...` (at most 10 listed). */
function describe(errors: FieldError[]): string {
  const shown = errors.slice(0, 10).map((e) => `${e.name}: ${e.message}`);
  if (errors.length > 10) shown.push(`and ${errors.length - 10} more`);
  return shown.join('; ');
}
