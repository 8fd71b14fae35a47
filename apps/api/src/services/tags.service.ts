import { type PhotoRef, splitTagRefs, type TagLinkBody, type TagsBatchBody } from '@lumen/core';
import { type TagSummary, type TagsRepository, type TagWithCount, UnknownTagError } from '@lumen/db';
import { type FieldError, ProblemError } from '../http/problem.ts';
import type { HashedPhoto, PhotoLocator } from './photo-locator.ts';

/** What `POST /image/tags` did. */
export interface TagAdded {
  tag: TagSummary;
  /** The tag was created from `tag_name` by this request. */
  tag_created: boolean;
  /** The photo did not carry the tag before. */
  added: boolean;
}

/** What `DELETE /image/tags` did. */
export interface TagRemoved {
  tag: TagSummary;
  /** The photo carried the tag (false: nothing to do). */
  removed: boolean;
}

export interface TagBatchView {
  photos: number;
  added: number;
  removed: number;
  created_tags: TagSummary[];
}

/**
 * Tags (SPEC 1 and 4): listing with photo counts, the tags of a photo, linking and unlinking one
 * tag, and batches. Links hang on the photo's content hash, so they follow a file that moves or is
 * duplicated; the location where the tag was set is recorded too.
 */
export class TagsService {
  constructor(
    private readonly tags: TagsRepository,
    private readonly locator: PhotoLocator,
    /** Called with the contents that gained tags (faces auto-bind by tag name). */
    private readonly onTagged: (contentHashes: readonly string[]) => Promise<void> = async () => {},
  ) {}

  listAll(): Promise<TagWithCount[]> {
    return this.tags.listAllWithCounts();
  }

  /** The tags of one photo; 404 when the database has no such photo. */
  async forPhoto(ref: PhotoRef): Promise<TagSummary[]> {
    const photo = await this.locatePhoto(ref);
    return this.tags.tagsForHash(photo.contentHash);
  }

  /** Link a tag (by id, or by name: created when new) to a photo. */
  async add(body: TagLinkBody): Promise<TagAdded> {
    const photo = await this.locatePhoto(body);
    let tag: TagSummary;
    let created = false;
    if (body.tag_id !== undefined) {
      tag = await this.requireTag(body.tag_id);
    } else {
      const result = await this.tags.create(body.tag_name!);
      tag = { id: result.tag.id, name: result.tag.name };
      created = result.created;
    }
    try {
      const added = await this.tags.addTag(tag.id, linkOf(photo));
      if (added) await this.onTagged([photo.contentHash]);
      return { tag, tag_created: created, added };
    } catch (err) {
      // Deleted between the lookup and the link.
      if (err instanceof UnknownTagError) throw unknownTags(err.tagIds, 'tag_id');
      throw err;
    }
  }

  /** Unlink a tag (by id or by name) from a photo; 404 for an unknown photo or tag. */
  async remove(body: TagLinkBody): Promise<TagRemoved> {
    const photo = await this.locatePhoto(body);
    let tag: TagSummary;
    if (body.tag_id !== undefined) {
      tag = await this.requireTag(body.tag_id);
    } else {
      const found = await this.tags.findByName(body.tag_name!);
      if (!found) {
        const message = `no tag named "${body.tag_name}"`;
        throw new ProblemError('not-found', `tag_name: ${message}`, {
          errors: [{ in: 'body', name: 'tag_name', message }],
        });
      }
      tag = { id: found.id, name: found.name };
    }
    return { tag, removed: await this.tags.removeTag(tag.id, photo.contentHash) };
  }

  /**
   * Add and remove tags on many photos in one transaction. Every photo and every tag id must exist:
   * otherwise 404 naming each unknown one, and nothing changes.
   */
  async batch(body: TagsBatchBody): Promise<TagBatchView> {
    const { ids, names } = splitTagRefs(body.add);
    const known = new Set(await this.tags.existingIds([...ids, ...body.remove]));
    const unknownIds = [...new Set([...ids, ...body.remove])].filter((id) => !known.has(id));
    let photos: HashedPhoto[];
    try {
      photos = await this.locator.locateAll(body.items, { location: 'body', prefix: 'items' });
    } catch (err) {
      // Unknown photos and unknown tags are reported together.
      if (err instanceof ProblemError && err.kind === 'not-found' && unknownIds.length > 0) {
        const tags = unknownBatchTags(unknownIds, body);
        const errors = [...(err.extra.errors ?? []), ...(tags.extra.errors ?? [])];
        throw new ProblemError('not-found', `${err.detail}; ${tags.detail}`, { errors });
      }
      throw err;
    }
    if (unknownIds.length > 0) throw unknownBatchTags(unknownIds, body);
    try {
      const result = await this.tags.batch({
        items: photos.map(linkOf),
        addTagIds: ids,
        addTagNames: names,
        removeTagIds: body.remove,
      });
      if (result.added > 0) await this.onTagged(photos.map((p) => p.contentHash));
      return {
        photos: new Set(photos.map((p) => p.contentHash)).size,
        added: result.added,
        removed: result.removed,
        created_tags: result.createdTags,
      };
    } catch (err) {
      if (err instanceof UnknownTagError) throw unknownBatchTags(err.tagIds, body);
      throw err;
    }
  }

  private locatePhoto(ref: PhotoRef): Promise<HashedPhoto> {
    return this.locator.locate(ref);
  }

  private async requireTag(id: number): Promise<TagSummary> {
    const tag = await this.tags.findById(id);
    if (!tag) throw unknownTags([id], 'tag_id');
    return { id: tag.id, name: tag.name };
  }
}

function linkOf(photo: HashedPhoto) {
  return { libraryId: photo.libraryId, relPath: photo.relPath, contentHash: photo.contentHash };
}

function unknownTags(ids: readonly number[], field: string): ProblemError {
  const message = `no tag with id ${ids.join(', ')}`;
  return new ProblemError('not-found', `${field}: ${message}`, {
    errors: [{ in: 'body', name: field, message }],
  });
}

/** 404 naming where each unknown id was given (`add.1`, `remove.0`). */
function unknownBatchTags(ids: readonly number[], body: TagsBatchBody): ProblemError {
  const unknown = new Set(ids);
  const errors: FieldError[] = [];
  body.add.forEach((ref, index) => {
    if (typeof ref === 'number' && unknown.has(ref)) {
      errors.push({ in: 'body', name: `add.${index}`, message: `no tag with id ${ref}` });
    }
  });
  body.remove.forEach((id, index) => {
    if (unknown.has(id))
      errors.push({ in: 'body', name: `remove.${index}`, message: `no tag with id ${id}` });
  });
  const detail = `unknown tag id${ids.length === 1 ? '' : 's'}: ${ids.join(', ')}; nothing was changed`;
  return new ProblemError('not-found', detail, { errors });
}
