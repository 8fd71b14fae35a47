import { afterEach, describe, expect, it } from 'vitest';
import { bytesToVector, cosineDistance, SummaryVectorsRepository, vectorToBytes } from '../src/index.ts';
import { ENGINES, openEngine } from './test-engines.ts';

const summary = (day: string, contact: string, embedding: number[]) => ({
  day,
  contact,
  summary: `${contact} on ${day}`,
  messageCount: 3,
  model: 'm',
  embeddingModel: 'e',
  embedding,
});

describe('vector bytes', () => {
  it('round-trips float32 little-endian', () => {
    expect([...bytesToVector(vectorToBytes([1, -0.5, 0.25]))]).toEqual([1, -0.5, 0.25]);
    expect(cosineDistance([1, 0], [1, 0])).toBeCloseTo(0);
    expect(cosineDistance([1, 0], [-1, 0])).toBeCloseTo(2);
  });
});

for (const engine of ENGINES) {
  describe(`SummaryVectorsRepository on ${engine}`, () => {
    let cleanup: (() => Promise<void>) | undefined;
    afterEach(async () => {
      await cleanup?.();
      cleanup = undefined;
    });

    it('stores summaries with vectors, knows what is done, and finds the nearest (exactly)', async () => {
      const opened = await openEngine(engine);
      cleanup = opened.cleanup;
      const repo = new SummaryVectorsRepository(opened.database.db, opened.database.kind);
      expect(await repo.searchMode()).toBe(engine === 'sqlite' ? 'sqlite-vec' : 'scan');
      await repo.insert(summary('2024-05-01', 'Ann', [1, 0, 0]));
      await repo.insert(summary('2024-05-01', 'Bob', [0, 1, 0]));
      await repo.insert(summary('2024-05-02', 'Ann', [0.9, 0.1, 0]));
      // The same (day, contact) again replaces, never duplicates.
      await repo.insert(summary('2024-05-02', 'Ann', [0.8, 0.2, 0]));
      expect(await repo.count()).toBe(3);
      expect([...(await repo.doneContacts('2024-05-01'))].sort()).toEqual(['Ann', 'Bob']);
      const hits = await repo.search([1, 0, 0], 'e', 2);
      expect(hits.map((h) => `${h.day} ${h.contact}`)).toEqual(['2024-05-01 Ann', '2024-05-02 Ann']);
      expect(hits[0]!.distance).toBeCloseTo(0, 5);
      expect(hits[1]!.distance).toBeCloseTo(cosineDistance([1, 0, 0], [0.8, 0.2, 0]), 5);
      // Another embedding model's vectors are not compared.
      expect(await repo.search([1, 0, 0], 'other', 5)).toEqual([]);
    });
  });
}
