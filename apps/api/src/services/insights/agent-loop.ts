import {
  type ChatEvent,
  type ChatMessage,
  CONTEXT_RESERVE_TOKENS,
  toolCallEvent,
  toolResultEvent,
  trimContext,
} from '@lumen/core';
import type { ChatBackend, ToolDefinition } from './llm-backends.ts';

export interface AgentLoopInput {
  backend: ChatBackend;
  model: string | undefined;
  system: string;
  /** The conversation so far (no system message), ending with the new user message. */
  transcript: ChatMessage[];
  tools: ToolDefinition[];
  runTool(name: string, args: Record<string, unknown>): Promise<string>;
  maxIterations: number;
  numCtx: number;
  signal?: AbortSignal;
  emit(event: ChatEvent): void;
}

export interface AgentLoopResult {
  transcript: ChatMessage[];
  /** The final answer (the last assistant text). */
  content: string;
  iterations: number;
  stopReason: 'answer' | 'max_iterations';
  backend: string;
  model: string;
}

/**
 * The tool loop: call the model; while it asks for tools, run them and call it again, at most
 * `maxIterations` model calls. Before each call the context is trimmed to `numCtx - 2048` tokens
 * (oldest tool pairs first; system prompt and first user message always kept); the stored
 * transcript keeps everything.
 */
export async function runAgentLoop(input: AgentLoopInput): Promise<AgentLoopResult> {
  const transcript = [...input.transcript];
  const budget = Math.max(input.numCtx - CONTEXT_RESERVE_TOKENS, 256);
  let content = '';
  let model = input.model ?? '';
  let backend: string = input.backend.name;
  for (let iteration = 1; iteration <= input.maxIterations; iteration++) {
    input.signal?.throwIfAborted();
    const trimmed = trimContext([{ role: 'system', content: input.system }, ...transcript], budget);
    if (trimmed.dropped > 0) {
      input.emit({ type: 'truncated', dropped_messages: trimmed.dropped, tokens: trimmed.tokens, budget });
    }
    input.emit({
      type: 'iteration_start',
      iteration,
      max_iterations: input.maxIterations,
      backend: input.backend.name,
      model: input.model ?? '',
    });
    const result = await input.backend.chat({
      messages: trimmed.messages,
      tools: input.tools,
      model: input.model,
      ...(input.signal ? { signal: input.signal } : {}),
      onText: (delta) => input.emit({ type: 'text', delta }),
    });
    model = result.model;
    backend = result.backend;
    content = result.content;
    const calls = result.toolCalls;
    if (calls.length === 0 && result.invalidToolCalls.length === 0) {
      transcript.push({ role: 'assistant', content: result.content });
      return { transcript, content, iterations: iteration, stopReason: 'answer', backend, model };
    }
    transcript.push({ role: 'assistant', content: result.content, tool_calls: calls });
    for (const call of calls) {
      input.emit(toolCallEvent(call));
      const output = await input.runTool(call.name, call.arguments);
      input.signal?.throwIfAborted();
      transcript.push({ role: 'tool', tool_call_id: call.id, name: call.name, content: output });
      input.emit(toolResultEvent(call.id, call.name, output));
    }
    if (result.invalidToolCalls.length > 0) {
      const note = result.invalidToolCalls.map((c) => `${c.name}: ${c.message}`).join('; ');
      transcript.push({
        role: 'user',
        content: `(Some tool calls could not be read: ${note}. Try again with valid JSON arguments.)`,
      });
    }
  }
  return {
    transcript,
    content,
    iterations: input.maxIterations,
    stopReason: 'max_iterations',
    backend,
    model,
  };
}
