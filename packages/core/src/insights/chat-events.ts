import type { ChatMessage, ToolCall } from './chat-message.ts';

/** Tool results longer than this are cut in the history (and in `tool_result` events), with a flag. */
export const TOOL_RESULT_PREVIEW_CHARS = 2000;

/**
 * The events of `POST /insights/chat/stream` (SSE), in the order a turn emits them:
 * `iteration_start` opens each model call; `text` carries streamed answer text; `tool_call` and
 * `tool_result` bracket each tool the model asked for; `truncated` says the context was trimmed
 * before a model call; `done` ends a turn; `error_message` ends a failed one.
 */
export type ChatEvent =
  | { type: 'iteration_start'; iteration: number; max_iterations: number; backend: string; model: string }
  | { type: 'text'; delta: string }
  | { type: 'tool_call'; id: string; name: string; arguments: Record<string, unknown> }
  | { type: 'tool_result'; id: string; name: string; content: string; truncated: boolean }
  | { type: 'truncated'; dropped_messages: number; tokens: number; budget: number }
  | {
      type: 'done';
      insight_id: number;
      iterations: number;
      /** `answer`: the model answered; `max_iterations`: the cap stopped the loop. */
      stop_reason: 'answer' | 'max_iterations';
      content: string;
      backend: string;
      model: string;
    }
  | { type: 'error_message'; message: string; problem_type: string };

/** One SSE frame: the event name and its JSON data (without the `type`, which is the name). */
export function sseFrame(event: ChatEvent): { event: string; data: string } {
  const { type, ...data } = event;
  return { event: type, data: JSON.stringify(data) };
}

export function previewText(
  content: string,
  max = TOOL_RESULT_PREVIEW_CHARS,
): { text: string; truncated: boolean } {
  if (content.length <= max) return { text: content, truncated: false };
  return { text: content.slice(0, max), truncated: true };
}

export function toolCallEvent(call: ToolCall): ChatEvent {
  return { type: 'tool_call', id: call.id, name: call.name, arguments: call.arguments };
}

export function toolResultEvent(id: string, name: string, content: string): ChatEvent {
  const preview = previewText(content);
  return { type: 'tool_result', id, name, content: preview.text, truncated: preview.truncated };
}

/** One entry of `GET /insights/chat/history`. */
export interface HistoryEntry {
  index: number;
  role: ChatMessage['role'];
  content: string;
  tool_calls?: ToolCall[];
  tool_call_id?: string;
  name?: string;
  /** Set on tool results: the content was cut to TOOL_RESULT_PREVIEW_CHARS. */
  truncated?: boolean;
}

/** The transcript as the history shows it: every message with its index, long tool results cut. */
export function historyView(messages: readonly ChatMessage[]): HistoryEntry[] {
  return messages.map((m, index) => {
    switch (m.role) {
      case 'assistant':
        return {
          index,
          role: m.role,
          content: m.content,
          ...(m.tool_calls && m.tool_calls.length > 0 ? { tool_calls: m.tool_calls } : {}),
        };
      case 'tool': {
        const preview = previewText(m.content);
        return {
          index,
          role: m.role,
          content: preview.text,
          tool_call_id: m.tool_call_id,
          name: m.name,
          truncated: preview.truncated,
        };
      }
      default:
        return { index, role: m.role, content: m.content };
    }
  });
}

export type RewindCheck = { ok: true; keep: number } | { ok: false; message: string };

/**
 * Where a rewind cuts a transcript (no system message in it: index 0 is the first user message).
 * Without `index`, the last user turn goes. `index` must name a user message after index 0; the
 * message and everything after it go.
 */
export function rewindPoint(messages: readonly ChatMessage[], index?: number): RewindCheck {
  if (index === undefined) {
    for (let i = messages.length - 1; i > 0; i--)
      if (messages[i]!.role === 'user') return { ok: true, keep: i };
    return { ok: false, message: 'no turn to rewind: only the first message is left, and it is protected' };
  }
  if (index === 0) return { ok: false, message: 'index 0 (the first message) is protected' };
  if (index < 0 || index >= messages.length) {
    return { ok: false, message: `index ${index} is outside the history (0-${messages.length - 1})` };
  }
  if (messages[index]!.role !== 'user') {
    return {
      ok: false,
      message: `index ${index} is a ${messages[index]!.role} message; rewind to a user message`,
    };
  }
  return { ok: true, keep: index };
}
