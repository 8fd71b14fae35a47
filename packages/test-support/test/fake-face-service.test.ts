import {
  cosineSimilarity,
  detectResponseSchema,
  embeddingFromBase64,
  embedResponseSchema,
} from '@lumen/core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeFaceService, faceTestImage, startFakeFaceService } from '../src/index.ts';

let fake: FakeFaceService;
beforeAll(async () => {
  fake = await startFakeFaceService();
});
afterAll(async () => {
  await fake.stop();
});

async function detect(image: Buffer, query = '') {
  const res = await fetch(`${fake.url}/v1/faces/detect${query}`, {
    method: 'POST',
    headers: { 'content-type': 'image/jpeg' },
    body: image,
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as unknown };
}

describe('the fake face service', () => {
  it.each([1, 3, 6, 8] as const)(
    'finds the patches in display coordinates (orientation %d)',
    async (orientation) => {
      const image = await faceTestImage({
        width: 400,
        height: 300,
        orientation,
        faces: [
          { identity: 3, x: 40, y: 50, size: 60 },
          { identity: 20, x: 250, y: 150, size: 80 },
        ],
      });
      const { status, body } = await detect(image);
      expect(status).toBe(200);
      const parsed = detectResponseSchema.parse(body);
      expect([parsed.imageWidth, parsed.imageHeight]).toEqual([400, 300]);
      const boxes = parsed.faces.map((f) => f.bbox).sort((a, b) => a.x1 - b.x1);
      expect(boxes).toHaveLength(2);
      const near = (got: number, want: number) => expect(Math.abs(got - want)).toBeLessThanOrEqual(4);
      near(boxes[0]?.x1 ?? -1, 40);
      near(boxes[0]?.y1 ?? -1, 50);
      near(boxes[0]?.x2 ?? -1, 100);
      near(boxes[1]?.x1 ?? -1, 250);
      near(boxes[1]?.y2 ?? -1, 230);
    },
  );

  it('gives one identity close embeddings and two identities far ones', async () => {
    const picture = (identity: number, variant: number, x: number) =>
      faceTestImage({ width: 200, height: 200, variant, faces: [{ identity, x, y: 40, size: 50 }] });
    const embed = async (image: Buffer) => {
      const parsed = detectResponseSchema.parse((await detect(image)).body);
      return embeddingFromBase64(parsed.faces[0]?.embedding ?? '', 512);
    };
    const a1 = await embed(await picture(5, 1, 30));
    const a2 = await embed(await picture(5, 2, 90));
    const b = await embed(await picture(40, 1, 30));
    expect(cosineSimilarity(a1, a2)).toBeGreaterThan(0.8);
    expect(cosineSimilarity(a1, a2)).toBeLessThan(0.99);
    expect(Math.abs(cosineSimilarity(a1, b))).toBeLessThan(0.3);
    // Deterministic: the same bytes, the same answer.
    expect(Array.from(await embed(await picture(5, 1, 30)))).toEqual(Array.from(a1));
  });

  it('finds nothing in a plain picture, honours maxFaces and minScore, embeds crops', async () => {
    const plain = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#fafafa' } })
      .jpeg()
      .toBuffer();
    expect(detectResponseSchema.parse((await detect(plain)).body).faces).toEqual([]);
    const three = await faceTestImage({
      width: 300,
      height: 100,
      faces: [0, 1, 2].map((i) => ({ identity: i + 1, x: 10 + i * 100, y: 20, size: 50 })),
    });
    expect(detectResponseSchema.parse((await detect(three, '?maxFaces=2')).body).faces).toHaveLength(2);
    expect((await detect(three, '?minScore=1.5')).status).toBe(400);
    const crop = await faceTestImage({
      width: 80,
      height: 80,
      faces: [{ identity: 7, x: 20, y: 20, size: 40 }],
    });
    const form = new FormData();
    form.set('image', new Blob([new Uint8Array(crop)]), 'crop.jpg');
    const res = await fetch(`${fake.url}/v1/faces/embed`, { method: 'POST', body: form });
    const embedded = embedResponseSchema.parse(await res.json());
    expect(embedded.aligned).toBe(true);
    expect(embedded.embeddingDim).toBe(512);
  });

  it('answers the error cases of the contract', async () => {
    expect((await detect(Buffer.from('not an image'))).body).toMatchObject({ error: 'bad_image' });
    fake.mode = 'loading';
    const loading = await detect(Buffer.from('x'));
    expect(loading.status).toBe(503);
    expect(loading.headers.get('retry-after')).toBe('1');
    expect((await fetch(`${fake.url}/healthz`)).status).toBe(503);
    fake.mode = 'up';
    expect((await fetch(`${fake.url}/healthz`)).status).toBe(200);
    await fake.stop();
    await expect(fetch(`${fake.url}/healthz`)).rejects.toThrow();
    await fake.start();
    expect((await fetch(`${fake.url}/v1/info`)).status).toBe(200);
  });
});
