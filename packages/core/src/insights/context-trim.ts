import type { ChatMessage } from './chat-message.ts';

/** Tokens kept free for the answer: a chat is trimmed to `num_ctx - CONTEXT_RESERVE_TOKENS`. */
export const CONTEXT_RESERVE_TOKENS = 2048;

/** A cheap, model-independent token estimate: 4 characters a token, plus a few per message. */
export function estimateTokens(message: ChatMessage): number {
  let chars = message.content.length;
  if (message.role === 'assistant' && message.tool_calls) {
    for (const call of message.tool_calls) chars += call.name.length + JSON.stringify(call.arguments).length;
  }
  // An image costs roughly what a vision encoder gives it (LLaVA-style: ~576 tokens).
  const images = message.role === 'user' ? (message.images?.length ?? 0) : 0;
  return Math.ceil(chars / 4) + 4 + images * 576;
}

export function totalTokens(messages: readonly ChatMessage[]): number {
  return messages.reduce((sum, m) => sum + estimateTokens(m), 0);
}

export interface TrimResult {
  messages: ChatMessage[];
  /** How many messages were left out. */
  dropped: number;
  tokens: number;
}

/**
 * Fit a chat into `budget` tokens. Oldest tool pairs go first (an assistant message with tool calls
 * together with the tool results that answer it); then, if still too long, the oldest other
 * messages. The system prompt, the first user message and the last message are always kept, and a
 * tool result never stays without the call it answers.
 */
export function trimContext(messages: readonly ChatMessage[], budget: number): TrimResult {
  const keep = messages.map(() => true);
  let tokens = totalTokens(messages);
  const firstUser = messages.findIndex((m) => m.role === 'user');
  const protectedIndex = (i: number) =>
    messages[i]!.role === 'system' || i === firstUser || i === messages.length - 1;

  // Groups: an assistant with tool calls and the tool messages right after it.
  const groups: number[][] = [];
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    if (m.role === 'assistant' && m.tool_calls && m.tool_calls.length > 0) {
      const group = [i];
      let j = i + 1;
      while (j < messages.length && messages[j]!.role === 'tool') group.push(j++);
      groups.push(group);
      i = j - 1;
    }
  }
  const drop = (indexes: number[]) => {
    for (const i of indexes) {
      if (keep[i]) {
        keep[i] = false;
        tokens -= estimateTokens(messages[i]!);
      }
    }
  };
  for (const group of groups) {
    if (tokens <= budget) break;
    if (group.some(protectedIndex)) continue;
    drop(group);
  }
  for (let i = 0; i < messages.length && tokens > budget; i++) {
    if (!keep[i] || protectedIndex(i)) continue;
    const m = messages[i]!;
    if (m.role === 'tool') continue; // goes with its call
    const group = groups.find((g) => g[0] === i);
    if (group) {
      if (group.some(protectedIndex)) continue;
      drop(group);
    } else drop([i]);
  }
  const kept = messages.filter((_, i) => keep[i]);
  return { messages: kept, dropped: messages.length - kept.length, tokens };
}
