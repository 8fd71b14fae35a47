import { describe, expect, it } from 'vitest';
import {
  assembleToolCalls,
  type ChatMessage,
  estimateTokens,
  historyView,
  rewindPoint,
  sseFrame,
  TOOL_RESULT_PREVIEW_CHARS,
  type ToolCallDelta,
  totalTokens,
  trimContext,
} from '../src/index.ts';

describe('assembleToolCalls', () => {
  const cases: { name: string; deltas: ToolCallDelta[]; calls: unknown[]; errors?: number }[] = [
    {
      name: 'one call, arguments split mid-token',
      deltas: [
        { index: 0, id: 'call_a', function: { name: 'reverse_geocode', arguments: '' } },
        { index: 0, function: { arguments: '{"lat": 42.' } },
        { index: 0, function: { arguments: '37, "lon"' } },
        { index: 0, function: { arguments: ': -71.1}' } },
      ],
      calls: [{ id: 'call_a', name: 'reverse_geocode', arguments: { lat: 42.37, lon: -71.1 } }],
    },
    {
      name: 'two calls interleaved, ordered by index',
      deltas: [
        { index: 1, id: 'b', function: { name: 'get_tags', arguments: '{' } },
        { index: 0, id: 'a', function: { name: 'get_metadata', arguments: '{}' } },
        { index: 1, function: { arguments: '"x":1}' } },
      ],
      calls: [
        { id: 'a', name: 'get_metadata', arguments: {} },
        { id: 'b', name: 'get_tags', arguments: { x: 1 } },
      ],
    },
    {
      name: 'no arguments at all is an empty object; a missing id is made up',
      deltas: [{ index: 0, function: { name: 'get_metadata' } }],
      calls: [{ id: 'call_0', name: 'get_metadata', arguments: {} }],
    },
    {
      name: 'broken JSON is an error, not a call',
      deltas: [{ index: 0, id: 'a', function: { name: 'x', arguments: '{"lat": ' } }],
      calls: [],
      errors: 1,
    },
    {
      name: 'a JSON array is not an argument object',
      deltas: [{ index: 0, id: 'a', function: { name: 'x', arguments: '[1,2]' } }],
      calls: [],
      errors: 1,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const result = assembleToolCalls(c.deltas);
      expect(result.calls).toEqual(c.calls);
      expect(result.errors).toHaveLength(c.errors ?? 0);
    });
  }
});

const sys: ChatMessage = { role: 'system', content: 'S'.repeat(400) };
const first: ChatMessage = { role: 'user', content: 'U'.repeat(400) };
const call = (id: string): ChatMessage => ({
  role: 'assistant',
  content: '',
  tool_calls: [{ id, name: 'get_metadata', arguments: {} }],
});
const result = (id: string, size = 4000): ChatMessage => ({
  role: 'tool',
  tool_call_id: id,
  name: 'get_metadata',
  content: 'R'.repeat(size),
});
const answer = (text: string): ChatMessage => ({ role: 'assistant', content: text });
const ask = (text: string): ChatMessage => ({ role: 'user', content: text });

describe('trimContext', () => {
  const chat = [
    sys,
    first,
    call('1'),
    result('1'),
    answer('A1'),
    ask('Q2'),
    call('2'),
    result('2'),
    answer('A2'),
    ask('Q3'),
  ];
  const cases: { name: string; budget: number; keptRoles: string; dropped: number }[] = [
    {
      name: 'under budget: nothing goes',
      budget: 100_000,
      keptRoles: 'system user assistant tool assistant user assistant tool assistant user',
      dropped: 0,
    },
    {
      name: 'a bit over: the oldest tool pair goes first',
      budget: totalTokens(chat) - 100,
      keptRoles: 'system user assistant user assistant tool assistant user',
      dropped: 2,
    },
    {
      name: 'both pairs go before any plain message',
      budget: 300,
      keptRoles: 'system user assistant user assistant user',
      dropped: 4,
    },
    {
      name: 'far over: both pairs, then the oldest plain messages',
      budget: 220,
      keptRoles: 'system user assistant user',
      dropped: 6,
    },
    {
      name: 'impossible: system, first user and last message stay',
      budget: 1,
      keptRoles: 'system user user',
      dropped: 7,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const trimmed = trimContext(chat, c.budget);
      expect(trimmed.messages.map((m) => m.role).join(' ')).toBe(c.keptRoles);
      expect(trimmed.dropped).toBe(c.dropped);
      expect(trimmed.messages[0]).toBe(sys);
      expect(trimmed.messages[1]).toBe(first);
      expect(trimmed.messages.at(-1)).toBe(chat.at(-1));
      expect(trimmed.tokens).toBe(totalTokens(trimmed.messages));
      // No tool result is left without the call it answers.
      for (const [i, m] of trimmed.messages.entries()) {
        if (m.role === 'tool')
          expect(
            trimmed.messages
              .slice(0, i)
              .some((p) => p.role === 'assistant' && p.tool_calls?.some((t) => t.id === m.tool_call_id)),
          ).toBe(true);
      }
    });
  }
  it('estimates about 4 characters a token and charges images', () => {
    expect(estimateTokens(ask('x'.repeat(400)))).toBe(104);
    expect(estimateTokens({ role: 'user', content: '', images: ['a'] })).toBeGreaterThan(500);
  });
});

describe('history and rewind', () => {
  const chat = [
    first,
    call('1'),
    result('1', TOOL_RESULT_PREVIEW_CHARS + 1),
    answer('A1'),
    ask('Q2'),
    answer('A2'),
  ];
  it('cuts long tool results with a flag and numbers every message', () => {
    const view = historyView(chat);
    expect(view.map((e) => e.index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(view[2]).toMatchObject({ role: 'tool', truncated: true, tool_call_id: '1', name: 'get_metadata' });
    expect(view[2]!.content).toHaveLength(TOOL_RESULT_PREVIEW_CHARS);
    expect(view[1]!.tool_calls).toEqual([{ id: '1', name: 'get_metadata', arguments: {} }]);
  });
  const cases: { name: string; index?: number; messages?: ChatMessage[]; keep?: number; error?: RegExp }[] = [
    { name: 'default: the last user turn', keep: 4 },
    { name: 'a user message by index', index: 4, keep: 4 },
    { name: 'index 0 is protected', index: 0, error: /protected/ },
    { name: 'not a user message', index: 3, error: /assistant/ },
    { name: 'outside', index: 6, error: /outside/ },
    { name: 'nothing to rewind', messages: [first, answer('A')], error: /protected/ },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const point = rewindPoint(c.messages ?? chat, c.index);
      if (c.error) expect(point.ok ? 'ok' : point.message).toMatch(c.error);
      else expect(point).toEqual({ ok: true, keep: c.keep });
    });
  }
});

describe('sseFrame', () => {
  it('names the event by its type and carries the rest as JSON', () => {
    expect(sseFrame({ type: 'text', delta: 'hi' })).toEqual({ event: 'text', data: '{"delta":"hi"}' });
    expect(sseFrame({ type: 'error_message', message: 'down', problem_type: 'x' }).event).toBe(
      'error_message',
    );
  });
});
