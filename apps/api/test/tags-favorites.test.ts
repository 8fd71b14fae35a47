import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PhotoItemView } from '../src/services/photo-item-view.ts';
import {
  libraryModel,
  type ModelPhoto,
  type PhotoLibrary,
  startPhotoLibrary,
} from './photo-library-fixture.ts';
import { problemOf } from './test-api.ts';

interface Tag {
  id: number;
  name: string;
}
interface TagWithCount extends Tag {
  photo_count: number;
}
interface Page {
  items: PhotoItemView[];
  total: number;
  next_cursor: string | null;
}

const keyOf = (p: { library: string; path: string }) => `${p.library}:${p.path}`;
const sortedKeys = (list: { library: string; path: string }[]) => list.map(keyOf).sort();

describe('tags and favorites', () => {
  let lib: PhotoLibrary;
  let model: ModelPhoto[];
  /** What the tests did: tag names per content (model contentKey). */
  const tagsOf = new Map<string, Set<string>>();
  const tagIds = new Map<string, number>();

  const contentOf = (library: string, path: string) =>
    model.find((p) => p.library === library && p.path === path)!.contentKey;
  const remember = (library: string, path: string, name: string, on = true) => {
    const key = contentOf(library, path);
    const set = tagsOf.get(key) ?? new Set<string>();
    if (on) set.add(name);
    else set.delete(name);
    tagsOf.set(key, set);
  };
  /** Model entries (every copy) carrying a tag, by the tests' own bookkeeping. */
  const taggedWith = (name: string) => model.filter((p) => tagsOf.get(p.contentKey)?.has(name));

  const post = (body: unknown) => lib.send('POST', '/image/tags', body);
  const del = (body: unknown) => lib.send('DELETE', '/image/tags', body);
  const allTags = () => lib.getJson<TagWithCount[]>('/image/tags/all');
  const countOf = async (name: string) => (await allTags()).find((t) => t.name === name)?.photo_count ?? 0;

  async function allPages(query: string, headers = lib.auth, route = '/photos'): Promise<PhotoItemView[]> {
    const items: PhotoItemView[] = [];
    let cursor: string | null = null;
    do {
      const page: Page = await lib.getJson<Page>(
        `${route}?${query}&limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        200,
        headers,
      );
      items.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor);
    expect(new Set(items.map(keyOf)).size).toBe(items.length);
    return items;
  }

  beforeAll(async () => {
    lib = await startPhotoLibrary();
    model = libraryModel(lib);
  });
  afterAll(async () => {
    await lib?.close();
  });

  describe('tags', () => {
    it('starts with no tags', async () => {
      expect(await allTags()).toEqual([]);
    });

    it('POST by a new name creates the tag; the same name in another case or spacing is the same tag', async () => {
      const res = await post({ path: 'travel/rome.jpg', library: 'main', tag_name: '  Italy ' });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { tag: Tag; tag_created: boolean; added: boolean };
      expect(body).toMatchObject({ tag: { name: 'Italy' }, tag_created: true, added: true });
      tagIds.set('Italy', body.tag.id);
      remember('main', 'travel/rome.jpg', 'Italy');

      const again = (await (
        await post({ path: 'travel/rome.jpg', library: 'main', tag_name: 'ITALY' })
      ).json()) as {
        tag: Tag;
        tag_created: boolean;
        added: boolean;
      };
      expect(again).toEqual({ tag: { id: body.tag.id, name: 'Italy' }, tag_created: false, added: false });
    });

    it('POST by tag id, and by names that create more tags', async () => {
      const italy = tagIds.get('Italy')!;
      for (const path of ['2008/tuscany/dscn0010.jpg', '2008/tuscany/florence.jpg']) {
        expect((await post({ path, library: 'main', tag_id: italy })).status).toBe(200);
        remember('main', path, 'Italy');
        const tuscany = (await (await post({ path, tag_name: 'Tuscany' })).json()) as { tag: Tag };
        tagIds.set('Tuscany', tuscany.tag.id);
        remember('main', path, 'Tuscany');
      }
      const wine = (await (
        await post({ path: '2008/tuscany/florence.jpg', library: 'main', tag_name: 'Wine' })
      ).json()) as {
        tag: Tag;
      };
      tagIds.set('Wine', wine.tag.id);
      remember('main', '2008/tuscany/florence.jpg', 'Wine');

      expect(await allTags()).toEqual([
        { id: italy, name: 'Italy', photo_count: 3 },
        { id: tagIds.get('Tuscany'), name: 'Tuscany', photo_count: 2 },
        { id: wine.tag.id, name: 'Wine', photo_count: 1 },
      ]);
    });

    it('GET /image/tags lists the tags of one photo by name', async () => {
      const tags = await lib.getJson<Tag[]>('/image/tags?path=2008/tuscany/florence.jpg&library=main');
      expect(tags).toEqual([
        { id: tagIds.get('Italy'), name: 'Italy' },
        { id: tagIds.get('Tuscany'), name: 'Tuscany' },
        { id: tagIds.get('Wine'), name: 'Wine' },
      ]);
      expect(await lib.getJson<Tag[]>('/image/tags?path=kodak.jpg&library=main')).toEqual([]);
    });

    it('a tag follows the content: every copy of a file carries it', async () => {
      const res = await post({ path: 'canon-40d-copy.jpg', library: 'archive', tag_name: 'Camera test' });
      expect(res.status).toBe(200);
      const tag = ((await res.json()) as { tag: Tag }).tag;
      tagIds.set('Camera test', tag.id);
      remember('archive', 'canon-40d-copy.jpg', 'Camera test');
      expect(await lib.getJson<Tag[]>('/image/tags?path=2008/canon-40d.jpg&library=main')).toEqual([tag]);
      // Without a library: the path is in both libraries with the same content, so it is that photo.
      expect(await lib.getJson<Tag[]>('/image/tags?path=2008/canon-40d.jpg')).toEqual([tag]);
      const items = await allPages(`tag_ids=${tag.id}`);
      expect(sortedKeys(items)).toEqual(sortedKeys(taggedWith('Camera test')));
      expect(items.length).toBe(3);
      for (const item of items) expect(item.tag_ids).toEqual([tag.id]);
      // One photo (content) in the count, however many copies.
      expect(await countOf('Camera test')).toBe(1);
    });

    it('a path that names different files in two libraries needs the library', async () => {
      const problem = await problemOf(await post({ path: 'kodak.jpg', tag_name: 'x' }));
      expect(problem.status).toBe(400);
      expect(problem.errors?.[0]?.name).toBe('library');
      expect((await allTags()).some((t) => t.name === 'x')).toBe(false);
    });

    it('filters /photos by tags, any or all', async () => {
      const italy = tagIds.get('Italy')!;
      const tuscany = tagIds.get('Tuscany')!;
      const wine = tagIds.get('Wine')!;
      const cases: [string, (p: ModelPhoto) => boolean][] = [
        [`tag_ids=${italy}`, (p) => !!tagsOf.get(p.contentKey)?.has('Italy')],
        [
          `tag_ids=${tuscany},${wine}&tag_mode=any`,
          (p) => ['Tuscany', 'Wine'].some((n) => tagsOf.get(p.contentKey)?.has(n)),
        ],
        [
          `tag_ids=${tuscany}&tag_ids=${wine}&tag_mode=all`,
          (p) => ['Tuscany', 'Wine'].every((n) => tagsOf.get(p.contentKey)?.has(n)),
        ],
        [
          `tag_ids=${italy},${tuscany}&tag_mode=all`,
          (p) => ['Italy', 'Tuscany'].every((n) => tagsOf.get(p.contentKey)?.has(n)),
        ],
        [
          `tag_ids=${italy}&camera_make=apple`,
          (p) => !!tagsOf.get(p.contentKey)?.has('Italy') && p.make === 'Apple',
        ],
        ['tag_ids=99999', () => false],
      ];
      for (const [query, predicate] of cases) {
        const items = await allPages(query);
        expect(sortedKeys(items), query).toEqual(sortedKeys(model.filter(predicate)));
      }
      expect((await allPages(`tag_ids=${tuscany},${wine}&tag_mode=all`)).map((i) => i.path)).toEqual([
        '2008/tuscany/florence.jpg',
      ]);
    });

    it.each(['TagCountDesc', 'TagCountAsc'])(
      'sorts by %s (then id), counts by the tests own bookkeeping',
      async (sort) => {
        const items = await allPages(`sort=${sort}`);
        expect(sortedKeys(items)).toEqual(sortedKeys(model));
        const count = (item: PhotoItemView) =>
          tagsOf.get(model.find((p) => keyOf(p) === keyOf(item))!.contentKey)?.size ?? 0;
        const dir = sort === 'TagCountAsc' ? 1 : -1;
        for (let i = 1; i < items.length; i++) {
          const a = items[i - 1]!;
          const b = items[i]!;
          expect(count(a), `${a.path} vs ${b.path}`).toBe(a.tag_ids.length);
          const order = Math.sign(count(a) - count(b)) || Math.sign(a.id - b.id);
          expect(order * dir).toBe(-1);
        }
        if (sort === 'TagCountDesc') expect(items[0]!.path).toBe('2008/tuscany/florence.jpg');
      },
    );

    it('DELETE by id or by name; removing a missing link is harmless', async () => {
      const wine = tagIds.get('Wine')!;
      const res = await del({ path: '2008/tuscany/florence.jpg', library: 'main', tag_id: wine });
      expect(await res.json()).toEqual({ tag: { id: wine, name: 'Wine' }, removed: true });
      remember('main', '2008/tuscany/florence.jpg', 'Wine', false);
      const again = await del({ path: '2008/tuscany/florence.jpg', library: 'main', tag_name: 'wine' });
      expect(await again.json()).toEqual({ tag: { id: wine, name: 'Wine' }, removed: false });
      const byName = await del({ path: 'travel/rome.jpg', library: 'main', tag_name: 'italy' });
      expect(((await byName.json()) as { removed: boolean }).removed).toBe(true);
      remember('main', 'travel/rome.jpg', 'Italy', false);
      expect(await countOf('Italy')).toBe(2);
      expect(await countOf('Wine')).toBe(0);
    });

    it.each<[string, 'POST' | 'DELETE', unknown, number, string]>([
      ['unknown photo', 'POST', { path: 'nope.jpg', library: 'main', tag_name: 'x' }, 404, 'path'],
      ['unknown photo (no library)', 'DELETE', { path: 'nope.jpg', tag_id: 1 }, 404, 'path'],
      ['unknown library', 'POST', { path: 'kodak.jpg', library: 'gone', tag_name: 'x' }, 404, 'library'],
      ['unknown tag id', 'POST', { path: 'kodak.jpg', library: 'main', tag_id: 99999 }, 404, 'tag_id'],
      ['unknown tag id', 'DELETE', { path: 'kodak.jpg', library: 'main', tag_id: 99999 }, 404, 'tag_id'],
      [
        'unknown tag name',
        'DELETE',
        { path: 'kodak.jpg', library: 'main', tag_name: 'Nope' },
        404,
        'tag_name',
      ],
      ['both id and name', 'POST', { path: 'kodak.jpg', tag_id: 1, tag_name: 'x' }, 400, 'tag_id'],
      ['neither id nor name', 'POST', { path: 'kodak.jpg', library: 'main' }, 400, 'tag_id'],
      ['traversal', 'POST', { path: '../kodak.jpg', tag_name: 'x' }, 400, 'path'],
    ])('%s: %s answers %i naming %s, and changes nothing', async (_label, method, body, status, name) => {
      const before = await allTags();
      const problem = await problemOf(await lib.send(method, '/image/tags', body));
      expect(problem.status).toBe(status);
      expect(problem.errors?.map((e) => e.name)).toContain(name);
      expect(await allTags()).toEqual(before);
    });
  });

  describe('POST /image/tags/batch', () => {
    const batch = (body: unknown) => lib.send('POST', '/image/tags/batch', body);
    const items = [
      { path: 'travel/alps.jpg', library: 'main' },
      { path: 'travel/germany-sony.jpg', library: 'main' },
      { path: 'travel/frankfurt.JPG' },
    ];

    it('adds ids and names (created when new) to many photos in one go', async () => {
      const tuscany = tagIds.get('Tuscany')!;
      const res = await batch({ items, add: [tuscany, 'Summer', 'summer '] });
      expect(res.status).toBe(200);
      const body = (await res.json()) as {
        photos: number;
        added: number;
        removed: number;
        created_tags: Tag[];
      };
      expect(body).toMatchObject({ photos: 3, added: 6, removed: 0 });
      expect(body.created_tags.map((t) => t.name)).toEqual(['Summer']);
      tagIds.set('Summer', body.created_tags[0]!.id);
      for (const item of items) {
        remember('main', item.path, 'Tuscany');
        remember('main', item.path, 'Summer');
      }
      expect(await countOf('Summer')).toBe(3);
      expect(await countOf('Tuscany')).toBe(5);
      const tagged = await allPages(`tag_ids=${tagIds.get('Summer')}`);
      expect(sortedKeys(tagged)).toEqual(sortedKeys(taggedWith('Summer')));
    });

    it('removes, and a tag both added and removed ends up removed', async () => {
      const summer = tagIds.get('Summer')!;
      const tuscany = tagIds.get('Tuscany')!;
      const res = await batch({ items: items.slice(0, 2), add: [summer], remove: [summer, tuscany] });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ photos: 2, removed: 4 });
      for (const item of items.slice(0, 2)) {
        remember('main', item.path, 'Summer', false);
        remember('main', item.path, 'Tuscany', false);
      }
      expect(await countOf('Summer')).toBe(1);
      expect(await countOf('Tuscany')).toBe(3);
    });

    it('an unknown photo or tag is a 404 naming each one, and nothing changes', async () => {
      const before = await allTags();
      const unknownPhoto = await problemOf(
        await batch({
          items: [items[0], { path: 'missing.jpg', library: 'main' }],
          add: ['Brand new', tagIds.get('Italy')],
        }),
      );
      expect(unknownPhoto.status).toBe(404);
      expect(unknownPhoto.errors).toEqual([expect.objectContaining({ in: 'body', name: 'items.1.path' })]);

      const unknownTags = await problemOf(await batch({ items, add: ['Brand new', 99998], remove: [99999] }));
      expect(unknownTags.status).toBe(404);
      expect(unknownTags.errors?.map((e) => e.name)).toEqual(['add.1', 'remove.0']);

      const both = await problemOf(
        await batch({ items: [{ path: 'missing.jpg', library: 'main' }], add: [99998] }),
      );
      expect(both.errors?.map((e) => e.name)).toEqual(['items.0.path', 'add.0']);

      expect(await allTags()).toEqual(before);
    });

    it('rejects an empty batch', async () => {
      const problem = await problemOf(await batch({ items }));
      expect(problem.status).toBe(400);
      expect(problem.errors?.[0]?.name).toBe('add');
      const noItems = await problemOf(await batch({ items: [], add: ['x'] }));
      expect(noItems.errors?.[0]?.name).toBe('items');
    });
  });

  describe('favorites (per user)', () => {
    let bob: Record<string, string>;

    beforeAll(async () => {
      await lib.t.createUser('bob', 'bob password 1');
      bob = { Authorization: `Bearer ${await lib.t.tokenFor('bob', 'bob password 1')}` };
    });

    it('adds, lists as photo items, and keeps users apart', async () => {
      const add = async (body: unknown, headers = lib.auth) => {
        const res = await lib.send('POST', '/favorites', body, headers);
        expect(res.status).toBe(200);
        return (await res.json()) as { library: string; path: string; favorite: boolean; changed: boolean };
      };
      expect(await add({ path: 'travel/rome.jpg', library: 'main' })).toEqual({
        library: 'main',
        path: 'travel/rome.jpg',
        favorite: true,
        changed: true,
      });
      expect((await add({ path: 'travel/rome.jpg', library: 'main' })).changed).toBe(false);
      await add({ path: 'canon-40d-copy.jpg', library: 'archive' });
      await add({ path: 'htc.webp' });
      await add({ path: 'kodak.jpg', library: 'main' }, bob);

      const alice = await allPages('sort=NameAsc', lib.auth, '/favorites');
      const canon = model.filter((p) => p.contentKey === contentOf('archive', 'canon-40d-copy.jpg'));
      expect(sortedKeys(alice)).toEqual(
        sortedKeys([...canon, ...model.filter((p) => ['travel/rome.jpg', 'htc.webp'].includes(p.path))]),
      );
      for (const item of alice) expect(item.favorite).toBe(true);
      expect((await allPages('favorite=true')).map(keyOf).sort()).toEqual(sortedKeys(alice));

      const bobs = await allPages('', bob, '/favorites');
      expect(bobs.map(keyOf)).toEqual(['main:kodak.jpg']);

      // The flags on /photos are the caller's.
      const rome = (await lib.getJson<Page>('/photos?path=travel&limit=100', 200, bob)).items.find(
        (i) => i.path === 'travel/rome.jpg',
      )!;
      expect(rome.favorite).toBe(false);
      const romeForAlice = (await lib.getJson<Page>('/photos?path=travel&limit=100')).items.find(
        (i) => i.path === 'travel/rome.jpg',
      )!;
      expect(romeForAlice.favorite).toBe(true);
    });

    it('filters and pages favorites like /photos', async () => {
      const page = await lib.getJson<Page>('/favorites?limit=2&sort=DateTakenAsc');
      expect(page.total).toBe(5);
      expect(page.items.length).toBe(2);
      const next = await lib.getJson<Page>(
        `/favorites?limit=10&sort=DateTakenAsc&cursor=${page.next_cursor}`,
      );
      expect(next.items.length).toBe(3);
      expect(new Set([...page.items, ...next.items].map(keyOf)).size).toBe(5);
      const archiveOnly = await lib.getJson<Page>('/favorites?library=archive');
      expect(archiveOnly.items.map((i) => i.path).sort()).toEqual([
        '2008/canon-40d.jpg',
        'canon-40d-copy.jpg',
      ]);
    });

    it('removes; removing again changes nothing; unknown photos are 404', async () => {
      const res = await lib.send('DELETE', '/favorites', { path: 'travel/rome.jpg', library: 'main' });
      expect(await res.json()).toMatchObject({ favorite: false, changed: true });
      const again = await lib.send('DELETE', '/favorites', { path: 'travel/rome.jpg', library: 'main' });
      expect(await again.json()).toMatchObject({ favorite: false, changed: false });
      expect((await lib.getJson<Page>('/favorites')).total).toBe(4);
      // Bob's favorite is untouched by Alice's removals.
      expect((await lib.getJson<Page>('/favorites', 200, bob)).total).toBe(1);

      const missing = await problemOf(await lib.send('POST', '/favorites', { path: 'nope.jpg' }));
      expect(missing.status).toBe(404);
      expect(missing.errors?.[0]?.name).toBe('path');
      const bad = await problemOf(await lib.send('POST', '/favorites', { library: 'main' }));
      expect(bad.status).toBe(400);
      expect(bad.errors?.[0]?.name).toBe('path');
    });
  });
});
