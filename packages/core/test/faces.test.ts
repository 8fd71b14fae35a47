import { describe, expect, it } from 'vitest';
import {
  type AutoBindFace,
  type AutoBindPerson,
  autobindMinCosFor,
  boxIoU,
  type ClusterDecision,
  type ClusterNeighbour,
  clusterNewFace,
  cosineSimilarity,
  detectResponseSchema,
  displaySize,
  embeddingFromBase64,
  embeddingFromBytes,
  embeddingToBase64,
  embeddingToBytes,
  faceThresholdsFor,
  matchRedetectedFaces,
  meanEmbedding,
  normalizeEmbedding,
  paddedCrop,
  pixelsFromRelative,
  planAutoBind,
  relativeFromCorners,
} from '../src/index.ts';

const v = (...xs: number[]) => Float32Array.from(xs);

describe('embedding bytes', () => {
  it('round-trips little-endian float32 through bytes and base64', () => {
    const values = v(1, -0.5, 0.25, 3.5e-8, -1e6);
    const bytes = embeddingToBytes(values);
    expect(bytes.length).toBe(20);
    expect(bytes.readFloatLE(4)).toBe(-0.5);
    expect(Array.from(embeddingFromBytes(bytes))).toEqual(Array.from(values));
    expect(Array.from(embeddingFromBase64(embeddingToBase64(values), 5))).toEqual(Array.from(values));
  });

  it.each<[string, string, number | undefined]>([
    ['wrong length', embeddingToBase64(v(1, 2, 3)), 4],
    ['not float32 bytes', Buffer.from([1, 2, 3]).toString('base64'), undefined],
    ['empty', '', undefined],
    ['NaN', embeddingToBase64(v(1, Number.NaN)), undefined],
  ])('rejects %s', (_name, text, dim) => {
    expect(() => embeddingFromBase64(text, dim)).toThrow();
  });
});

describe('cosineSimilarity', () => {
  it.each<[number[], number[], number]>([
    [[1, 0], [1, 0], 1],
    [[1, 0], [0, 1], 0],
    [[1, 0], [-1, 0], -1],
    [[3, 4], [6, 8], 1],
    [[1, 1], [1, 0], Math.SQRT1_2],
    [[0, 0], [1, 0], 0],
    [[1, 0, 0], [1, 0], 0],
  ])('%j . %j = %d', (a, b, expected) => {
    expect(cosineSimilarity(v(...a), v(...b))).toBeCloseTo(expected, 6);
  });

  it('normalizes and averages', () => {
    expect(Array.from(normalizeEmbedding(v(3, 4)))).toEqual([expect.closeTo(0.6), expect.closeTo(0.8)]);
    expect(Array.from(normalizeEmbedding(v(0, 0)))).toEqual([0, 0]);
    // The mean of unit vectors: a long vector does not outweigh a short one.
    const mean = meanEmbedding([v(10, 0), v(0, 1)]);
    expect(Array.from(mean ?? [])).toEqual([expect.closeTo(Math.SQRT1_2), expect.closeTo(Math.SQRT1_2)]);
    expect(meanEmbedding([])).toBeUndefined();
  });
});

describe('boxes', () => {
  it.each<[string, { x1: number; y1: number; x2: number; y2: number }, number, number, unknown]>([
    ['inside', { x1: 10, y1: 20, x2: 30, y2: 60 }, 100, 200, { x: 0.1, y: 0.1, w: 0.2, h: 0.2 }],
    ['clamped', { x1: -10, y1: 150, x2: 50, y2: 250 }, 100, 200, { x: 0, y: 0.75, w: 0.5, h: 0.25 }],
    ['swapped corners', { x1: 30, y1: 60, x2: 10, y2: 20 }, 100, 200, { x: 0.1, y: 0.1, w: 0.2, h: 0.2 }],
    ['outside', { x1: 120, y1: 0, x2: 150, y2: 10 }, 100, 200, undefined],
    ['empty', { x1: 10, y1: 10, x2: 10, y2: 20 }, 100, 200, undefined],
  ])('relativeFromCorners %s', (_name, box, w, h, expected) => {
    const got = relativeFromCorners(box, w, h);
    if (expected === undefined) expect(got).toBeUndefined();
    else
      expect(got).toEqual(
        Object.fromEntries(
          Object.entries(expected as object).map(([k, n]) => [k, expect.closeTo(n as number)]),
        ),
      );
  });

  it.each<[number, number, number | null, { width: number; height: number }]>([
    [4000, 3000, 1, { width: 4000, height: 3000 }],
    [4000, 3000, null, { width: 4000, height: 3000 }],
    [4000, 3000, 6, { width: 3000, height: 4000 }],
    [4000, 3000, 8, { width: 3000, height: 4000 }],
    [4000, 3000, 3, { width: 4000, height: 3000 }],
  ])('displaySize(%d, %d, %s)', (w, h, o, expected) => {
    expect(displaySize(w, h, o)).toEqual(expected);
  });

  it('pixels from fractions', () => {
    expect(pixelsFromRelative({ x: 0.1, y: 0.25, w: 0.5, h: 0.5 }, 300, 400)).toEqual({
      x: 30,
      y: 100,
      width: 150,
      height: 200,
    });
  });

  it.each<[string, { x: number; y: number; width: number; height: number }, number, number, unknown]>([
    // side = 100 / sqrt(0.5) = 141.4: the face covers about half of the crop
    [
      'centred',
      { x: 200, y: 200, width: 100, height: 100 },
      1000,
      1000,
      { left: 179, top: 179, width: 142, height: 142 },
    ],
    [
      'at the corner',
      { x: 0, y: 0, width: 100, height: 50 },
      1000,
      1000,
      { left: 0, top: 0, width: 121, height: 96 },
    ],
    [
      'bigger than the image',
      { x: 0, y: 0, width: 100, height: 100 },
      100,
      100,
      { left: 0, top: 0, width: 100, height: 100 },
    ],
  ])('paddedCrop %s', (_name, box, w, h, expected) => {
    expect(paddedCrop(box, w, h)).toEqual(expected);
  });
});

describe('planAutoBind', () => {
  const e = (...xs: number[]) => normalizeEmbedding(v(...xs));
  const face = (
    id: number,
    emb: Float32Array | undefined,
    area = 0.1,
    personId: number | null = null,
  ): AutoBindFace => ({
    id,
    embedding: emb,
    area,
    personId,
  });
  const person = (id: number, mean?: Float32Array): AutoBindPerson => ({ id, mean });

  it.each<
    [string, AutoBindFace[], AutoBindPerson[], number, { faceId: number; personId: number; cover: boolean }[]]
  >([
    [
      'above the threshold',
      [face(1, e(1, 0.1))],
      [person(7, e(1, 0))],
      0.4,
      [{ faceId: 1, personId: 7, cover: false }],
    ],
    ['below the threshold', [face(1, e(0.3, 1))], [person(7, e(1, 0))], 0.4, []],
    [
      'exactly at the threshold',
      [face(1, e(1, 0))],
      [person(7, e(1, 0))],
      1,
      [{ faceId: 1, personId: 7, cover: false }],
    ],
    [
      'best face of two',
      [face(1, e(0.6, 0.8)), face(2, e(0.9, 0.1))],
      [person(7, e(1, 0))],
      0.4,
      [{ faceId: 2, personId: 7, cover: false }],
    ],
    [
      'two persons, greedy by similarity',
      [face(1, e(1, 0)), face(2, e(0.8, 0.6))],
      [person(7, e(1, 0)), person(8, e(0.9, 0.44))],
      0.4,
      [
        { faceId: 1, personId: 7, cover: false },
        { faceId: 2, personId: 8, cover: false },
      ],
    ],
    [
      'person without faces takes the largest face',
      [face(1, e(1, 0), 0.05), face(2, e(0, 1), 0.2)],
      [person(7)],
      0.4,
      [{ faceId: 2, personId: 7, cover: true }],
    ],
    [
      'two face-less persons: ambiguous, none binds',
      [face(1, e(1, 0)), face(2, e(0, 1))],
      [person(7), person(8)],
      0.4,
      [],
    ],
    ['face already bound is kept', [face(1, e(1, 0), 0.1, 9)], [person(7, e(1, 0))], 0.4, []],
    [
      'person already on the photo binds no second face',
      [face(1, e(1, 0), 0.1, 7), face(2, e(1, 0))],
      [person(7, e(1, 0))],
      0.4,
      [],
    ],
    ['zero embedding never binds', [face(1, undefined)], [person(7)], 0.4, []],
    [
      'face-less person takes what a person with faces left',
      [face(1, e(1, 0), 0.3), face(2, e(0, 1), 0.1)],
      [person(7, e(1, 0)), person(8)],
      0.4,
      [
        { faceId: 1, personId: 7, cover: false },
        { faceId: 2, personId: 8, cover: true },
      ],
    ],
  ])('%s', (_name, faces, persons, minCos, expected) => {
    expect(
      planAutoBind(faces, persons, minCos).map(({ faceId, personId, cover }) => ({
        faceId,
        personId,
        cover,
      })),
    ).toEqual(expected);
  });
});

describe('clusterNewFace', () => {
  const n = (faceId: number, clusterId: number | null, similarity: number): ClusterNeighbour => ({
    faceId,
    clusterId,
    similarity,
  });
  const params = { minCos: 0.6, minPoints: 3 };
  it.each<[string, number, ClusterNeighbour[], ClusterDecision]>([
    ['alone: noise', 10, [], { kind: 'noise' }],
    ['neighbours below eps do not count', 10, [n(1, null, 0.59), n(2, null, 0.1)], { kind: 'noise' }],
    ['one unclustered neighbour: not dense yet', 10, [n(1, null, 0.9)], { kind: 'noise' }],
    [
      'dense: founds a cluster named after itself',
      10,
      [n(1, null, 0.9), n(2, null, 0.7)],
      { kind: 'cluster', clusterId: 10, members: [10, 1, 2], merged: [] },
    ],
    [
      'joins the cluster of its nearest clustered neighbour',
      10,
      [n(1, 5, 0.7), n(2, 6, 0.9)],
      { kind: 'cluster', clusterId: 6, members: [10], merged: [5] },
    ],
    [
      'border point joins without pulling or merging',
      10,
      [n(2, 6, 0.9)],
      { kind: 'cluster', clusterId: 6, members: [10], merged: [] },
    ],
    [
      'dense point pulls noise in and merges clusters',
      10,
      [n(1, null, 0.8), n(2, 6, 0.9), n(3, 4, 0.65), n(4, null, 0.2)],
      { kind: 'cluster', clusterId: 6, members: [10, 1], merged: [4] },
    ],
    ['ignores itself among the neighbours', 10, [n(10, null, 1), n(1, null, 0.9)], { kind: 'noise' }],
  ])('%s', (_name, faceId, neighbours, expected) => {
    expect(clusterNewFace(faceId, neighbours, params)).toEqual(expected);
  });

  it('builds the same two groups whatever the order of arrival', () => {
    // Two tight groups on orthogonal axes, fed one face at a time in two orders.
    const points = new Map<number, Float32Array>([
      [1, v(1, 0.05, 0)],
      [2, v(1, -0.05, 0)],
      [3, v(1, 0, 0.05)],
      [4, v(0, 1, 0.05)],
      [5, v(0.05, 1, 0)],
      [6, v(0, 1, -0.05)],
      [7, v(0, 0, 1)], // alone: noise
    ]);
    const run = (order: number[]) => {
      const cluster = new Map<number, number | null>();
      for (const id of order) {
        const neighbours = [...cluster.keys()].map((other) =>
          n(
            other,
            cluster.get(other) ?? null,
            cosineSimilarity(points.get(id) as Float32Array, points.get(other) as Float32Array),
          ),
        );
        const decision = clusterNewFace(id, neighbours, params);
        cluster.set(id, null);
        if (decision.kind === 'cluster') {
          for (const m of decision.members) cluster.set(m, decision.clusterId);
          for (const [other, c] of cluster)
            if (c !== null && decision.merged.includes(c)) cluster.set(other, decision.clusterId);
        }
      }
      const groups = new Map<number, number[]>();
      for (const [id, c] of cluster) if (c !== null) groups.set(c, [...(groups.get(c) ?? []), id].sort());
      return [...groups.values()].map((g) => g.join(',')).sort();
    };
    expect(run([1, 2, 3, 4, 5, 6, 7])).toEqual(['1,2,3', '4,5,6']);
    expect(run([7, 6, 1, 4, 2, 5, 3])).toEqual(['1,2,3', '4,5,6']);
  });
});

describe('contract and thresholds', () => {
  it('parses a detect answer and keeps unknown fields out of the way', () => {
    const parsed = detectResponseSchema.parse({
      model: 'm',
      imageWidth: 10,
      imageHeight: 20,
      faces: [
        { bbox: { x1: 1, y1: 2, x2: 3, y2: 4 }, score: 0.9, embedding: embeddingToBase64(v(1)), extra: 1 },
      ],
      took: 3,
    });
    expect(parsed.faces).toHaveLength(1);
    expect(() =>
      detectResponseSchema.parse({ model: 'm', imageWidth: 0, imageHeight: 20, faces: [] }),
    ).toThrow();
  });

  it.each<[string | null, number]>([
    ['buffalo_l', 0.5],
    ['lumen-fake-squares-1', 0.6],
    ['human-faceres-wasm-1', 0.7],
    ['something-else', 0.55],
    [null, 0.55],
  ])('thresholds of %s', (model, minCos) => {
    expect(faceThresholdsFor(model).clusterMinCos).toBe(minCos);
  });
});

describe('autobindMinCosFor', () => {
  it.each<[string | null, number | undefined, number]>([
    ['human-faceres-wasm-1', undefined, 0.65],
    ['buffalo_l', undefined, 0.4],
    ['some-new-model', undefined, 0.4],
    [null, undefined, 0.4],
    ['human-faceres-wasm-1', 0.5, 0.5],
    ['buffalo_l', -0.2, -0.2],
  ])('model %s, FACE_AUTOBIND_MIN_COS %s -> %s', (model, configured, expected) => {
    expect(autobindMinCosFor(model, configured)).toBe(expected);
  });
});

describe('boxIoU and matchRedetectedFaces', () => {
  const box = (x: number, y: number, w = 0.2, h = 0.2) => ({ x, y, w, h });
  it.each<[string, ReturnType<typeof box>, ReturnType<typeof box>, number]>([
    ['same box', box(0.1, 0.1), box(0.1, 0.1), 1],
    ['apart', box(0, 0), box(0.5, 0.5), 0],
    ['touching edges', box(0, 0), box(0.2, 0), 0],
    ['half over', box(0, 0), box(0.1, 0), 1 / 3],
    ['inside, a quarter of the area', box(0, 0, 0.4, 0.4), box(0.1, 0.1), 0.25],
    ['empty box', box(0, 0, 0, 0), box(0, 0), 0],
  ])('%s', (_name, a, b, iou) => {
    expect(boxIoU(a, b)).toBeCloseTo(iou, 9);
    expect(boxIoU(b, a)).toBeCloseTo(iou, 9);
  });

  it.each<[string, ReturnType<typeof box>[], ReturnType<typeof box>[], [number, number][]]>([
    ['nothing before', [], [box(0, 0)], []],
    ['nothing after', [box(0, 0)], [], []],
    ['one moved a little', [box(0.1, 0.1)], [box(0.12, 0.11)], [[0, 0]]],
    ['moved too far (IoU < 0.5)', [box(0.1, 0.1)], [box(0.2, 0.1)], []],
    [
      'order of the new faces does not matter',
      [box(0, 0), box(0.5, 0)],
      [box(0.51, 0), box(0.01, 0)],
      [
        [0, 1],
        [1, 0],
      ].sort() as [number, number][],
    ],
    ['two old on one new: the best overlap wins', [box(0.1, 0), box(0.14, 0)], [box(0.13, 0)], [[1, 0]]],
  ])('%s', (_name, before, after, pairs) => {
    expect(matchRedetectedFaces(before, after).sort()).toEqual(pairs);
  });
});
