import { cosineSimilarity } from '@lumen/core';
import { type FakeFaceService, faceTestImage, startFakeFaceService } from '@lumen/test-support';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  FaceClient,
  FaceContractError,
  FaceImageRejectedError,
  FaceServiceUnavailableError,
  parseRetryAfter,
} from '../src/index.ts';

let fake: FakeFaceService;
beforeAll(async () => {
  fake = await startFakeFaceService();
});
afterAll(async () => {
  await fake.stop();
});
beforeEach(async () => {
  fake.mode = 'up';
  fake.delayMs = 0;
  await fake.start();
});

const client = (requestTimeoutMs = 5_000) =>
  new FaceClient({ baseUrl: fake.url, requestTimeoutMs, probeTimeoutMs: 1_000 });

describe('FaceClient', () => {
  it('reads info, detects and embeds', async () => {
    const c = client();
    expect(await c.info()).toEqual({ model: 'lumen-fake-squares-1', embeddingDim: 512, normalized: true });
    const image = await faceTestImage({
      width: 300,
      height: 200,
      faces: [{ identity: 9, x: 20, y: 30, size: 60 }],
    });
    const detected = await c.detect(image, { minScore: 0.5, maxFaces: 5 });
    expect(detected.model).toBe('lumen-fake-squares-1');
    expect(detected.faces).toHaveLength(1);
    expect(detected.faces[0]?.embedding).toHaveLength(512);
    expect(fake.requests.at(-1)?.path).toBe('/v1/faces/detect');
    const crop = await faceTestImage({
      width: 90,
      height: 90,
      faces: [{ identity: 9, x: 20, y: 20, size: 50 }],
    });
    const embedded = await c.embed(crop);
    expect(embedded.aligned).toBe(true);
    expect(cosineSimilarity(embedded.embedding, detected.faces[0]?.embedding ?? [])).toBeGreaterThan(0.8);
    expect(await c.healthy()).toBe(true);
  });

  it('a bad image is rejected for good; a broken answer is a contract error', async () => {
    await expect(client().detect(Buffer.from('garbage'))).rejects.toBeInstanceOf(FaceImageRejectedError);
    const broken = new FaceClient({
      baseUrl: fake.url,
      requestTimeoutMs: 1000,
      fetch: async () =>
        new Response(JSON.stringify({ model: 'm', imageWidth: 1, imageHeight: 1, faces: [{ bbox: {} }] })),
    });
    await expect(broken.detect(Buffer.from('x'))).rejects.toBeInstanceOf(FaceContractError);
  });

  it('honours 503 + Retry-After: no call goes out before it has passed', async () => {
    const c = client();
    fake.mode = 'loading';
    fake.retryAfterSec = 1;
    const first = await c.detect(Buffer.from('x')).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(FaceServiceUnavailableError);
    expect((first as FaceServiceUnavailableError).retryAfterMs).toBe(1000);
    fake.mode = 'up';
    const sent = fake.requests.length;
    await expect(c.detect(Buffer.from('x'))).rejects.toBeInstanceOf(FaceServiceUnavailableError);
    expect(fake.requests.length).toBe(sent);
    expect(c.waitMs()).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, c.waitMs() + 20));
    await expect(c.detect(Buffer.from('x'))).rejects.toBeInstanceOf(FaceImageRejectedError);
    expect(fake.requests.length).toBe(sent + 1);
  });

  it('a slow, stopped or failing service is unavailable, and the health probe says so', async () => {
    fake.delayMs = 500;
    const started = Date.now();
    await expect(client(150).detect(Buffer.from('x'))).rejects.toThrow(/no answer within 150 ms/);
    expect(Date.now() - started).toBeLessThan(450);
    fake.delayMs = 0;
    fake.mode = 'broken';
    await expect(client().detect(Buffer.from('x'))).rejects.toBeInstanceOf(FaceServiceUnavailableError);
    fake.mode = 'up';
    await fake.stop();
    const c = client();
    await expect(c.detect(Buffer.from('x'))).rejects.toBeInstanceOf(FaceServiceUnavailableError);
    expect(await c.healthy()).toBe(false);
    await fake.start();
    expect(await c.healthy()).toBe(true);
  });

  it.each<[string | null, number | undefined]>([
    [null, undefined],
    ['', undefined],
    ['5', 5000],
    ['99999', 3_600_000],
    ['soon', undefined],
    [new Date(Date.now() + 10_000).toUTCString(), 10_000],
  ])('parseRetryAfter(%j)', (value, expected) => {
    const got = parseRetryAfter(value);
    if (expected === undefined || expected % 1000 !== 0 || value?.includes('GMT') !== true)
      expect(got).toBe(expected);
    else expect(Math.abs((got ?? 0) - expected)).toBeLessThan(5000);
  });
});
