import { replyEnvelopeSchema, segmentReplySchema } from '@lumen/core';
import { describe, expect, it } from 'vitest';
import { RequestError, replyOf, unwrapReply } from '../src/request-reply.ts';

// docs/asyncapi.json describes replies with core's replyEnvelopeSchema: the envelopes both
// transports send must fit it.
describe('the reply envelope', () => {
  const envelope = replyEnvelopeSchema(segmentReplySchema);

  it('of an answer fits the documented schema and unwraps to the answer', async () => {
    const sent = await replyOf(async () => ({ made: 'run' }));
    expect(envelope.parse(sent)).toEqual({ ok: true, data: { made: 'run' } });
    expect(unwrapReply('video.segment', sent)).toEqual({ made: 'run' });
  });

  it('of a failure fits the documented schema and unwraps to a RequestError', async () => {
    const sent = await replyOf(async () => {
      throw new Error('no stream plan');
    });
    expect(envelope.parse(sent)).toEqual({ ok: false, error: 'no stream plan' });
    expect(() => unwrapReply('video.segment', sent)).toThrow(
      new RequestError('video.segment: no stream plan'),
    );
  });
});
