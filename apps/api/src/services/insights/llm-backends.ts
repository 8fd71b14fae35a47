import { type ChatMessage, type ToolCall, ToolCallAssembler } from '@lumen/core';
import { type ChatResponse, Ollama, type Message as OllamaMessage, type Tool as OllamaTool } from 'ollama';
import OpenAI from 'openai';
import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import {
  describeError,
  InsightsNotConfiguredError,
  isAbortError,
  isConnectionError,
  LlmResponseError,
  LlmUnavailableError,
} from './llm-errors.ts';
import { type LlmTimeouts, llmFetch } from './llm-http.ts';

export type BackendName = 'ollama' | 'openrouter';

/** A tool the model may call: JSON-schema parameters, as both protocols take them. */
export interface ToolDefinition {
  name: string;
  description: string;
  parameters: {
    type: 'object';
    properties: Record<string, { type: string; description?: string; enum?: string[] }>;
    required?: string[];
  };
}

export interface ChatCall {
  messages: ChatMessage[];
  tools?: ToolDefinition[];
  /** Overrides the configured model. */
  model?: string | undefined;
  signal?: AbortSignal;
  /** Each piece of answer text as it streams in. */
  onText?: (delta: string) => void;
}

export interface ChatCallResult {
  content: string;
  toolCalls: ToolCall[];
  /** Tool calls whose arguments could not be read (the model is told so). */
  invalidToolCalls: { name: string; message: string }[];
  backend: BackendName;
  model: string;
  /** `primary`, `fallback` or `openrouter`. */
  endpoint: string;
}

export interface ChatBackend {
  readonly name: BackendName;
  chat(call: ChatCall): Promise<ChatCallResult>;
}

export interface OllamaEndpoint {
  role: 'primary' | 'fallback';
  url: string;
  model: string | undefined;
}

export interface ModelInfo {
  name: string;
  vision: boolean;
  tools: boolean;
  embedding: boolean;
  capabilities: string[];
}

let callSeq = 0;

function toOllamaMessages(messages: readonly ChatMessage[]): OllamaMessage[] {
  return messages.map((m): OllamaMessage => {
    switch (m.role) {
      case 'assistant':
        return {
          role: 'assistant',
          content: m.content,
          ...(m.tool_calls && m.tool_calls.length > 0
            ? {
                tool_calls: m.tool_calls.map((c) => ({ function: { name: c.name, arguments: c.arguments } })),
              }
            : {}),
        };
      case 'tool':
        return { role: 'tool', content: m.content, tool_name: m.name };
      case 'user':
        return { role: 'user', content: m.content, ...(m.images ? { images: m.images } : {}) };
      default:
        return { role: m.role, content: m.content };
    }
  });
}

function toOllamaTools(tools: readonly ToolDefinition[]): OllamaTool[] {
  return tools.map((t) => ({
    type: 'function',
    function: { name: t.name, description: t.description, parameters: t.parameters },
  }));
}

/**
 * Ollama, primary and fallback, through the `ollama` client. A call goes to the primary; when it
 * cannot be reached (connection refused, unresolvable, connect timeout), to the fallback. An answer
 * with an error (unknown model, a failure inside Ollama) or a stream that breaks off does not fail
 * over: the request reached a server, and running it twice could cost minutes.
 */
export class OllamaBackend implements ChatBackend {
  readonly name = 'ollama' as const;

  constructor(
    readonly endpoints: OllamaEndpoint[],
    private readonly timeouts: LlmTimeouts,
    private readonly numCtx: number,
  ) {}

  #client(url: string, signal?: AbortSignal): Ollama {
    return new Ollama({ host: url, fetch: llmFetch(this.timeouts, signal) });
  }

  #modelFor(endpoint: OllamaEndpoint, override: string | undefined): string {
    const model = override ?? endpoint.model;
    if (!model) {
      throw new InsightsNotConfiguredError(
        endpoint.role === 'primary' ? 'OLLAMA_PRIMARY_MODEL (or OLLAMA_MODEL)' : 'OLLAMA_FALLBACK_MODEL',
        `the ${endpoint.role} Ollama model`,
      );
    }
    return model;
  }

  /** Run `fn` on the primary, then on the fallback when the primary cannot be reached. */
  async withFailover<T>(fn: (endpoint: OllamaEndpoint) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const reasons: string[] = [];
    for (const endpoint of this.endpoints) {
      try {
        return await fn(endpoint);
      } catch (err) {
        if (signal?.aborted || isAbortError(err)) throw err;
        if (!isConnectionError(err)) throw err;
        reasons.push(`${endpoint.role} Ollama at ${endpoint.url}: ${describeError(err)}`);
      }
    }
    throw new LlmUnavailableError(reasons);
  }

  async chat(call: ChatCall): Promise<ChatCallResult> {
    return this.withFailover(async (endpoint) => {
      const model = this.#modelFor(endpoint, call.model);
      const client = this.#client(endpoint.url, call.signal);
      let stream: AsyncIterable<ChatResponse> & { abort(): void };
      try {
        stream = await client.chat({
          model,
          messages: toOllamaMessages(call.messages),
          ...(call.tools && call.tools.length > 0 ? { tools: toOllamaTools(call.tools) } : {}),
          stream: true,
          options: { num_ctx: this.numCtx },
        });
      } catch (err) {
        if (isConnectionError(err) || isAbortError(err)) throw err;
        const status = (err as { status_code?: number }).status_code;
        throw new LlmResponseError(`Ollama (${endpoint.role}, ${model})`, describeError(err), status);
      }
      const onAbort = () => stream.abort();
      call.signal?.addEventListener('abort', onAbort, { once: true });
      let content = '';
      const toolCalls: ToolCall[] = [];
      try {
        for await (const part of stream) {
          const error = (part as { error?: string }).error;
          if (error) throw new LlmResponseError(`Ollama (${endpoint.role}, ${model})`, error);
          const message = part.message;
          if (message?.content) {
            content += message.content;
            call.onText?.(message.content);
          }
          for (const tc of message?.tool_calls ?? []) {
            toolCalls.push({
              id: `call_${++callSeq}`,
              name: tc.function.name,
              arguments: (tc.function.arguments ?? {}) as Record<string, unknown>,
            });
          }
        }
      } catch (err) {
        if (call.signal?.aborted || isAbortError(err) || err instanceof LlmResponseError) throw err;
        // Broke off mid-stream: the server was reached, so no failover.
        throw new LlmResponseError(
          `Ollama (${endpoint.role}, ${model})`,
          `stream broke off: ${describeError(err)}`,
        );
      } finally {
        call.signal?.removeEventListener('abort', onAbort);
      }
      if (call.signal?.aborted) throw call.signal.reason ?? new DOMException('aborted', 'AbortError');
      return { content, toolCalls, invalidToolCalls: [], backend: 'ollama', model, endpoint: endpoint.role };
    }, call.signal);
  }

  /** Embed texts with `model` (failover as for chat). */
  async embed(model: string, input: string[], signal?: AbortSignal): Promise<number[][]> {
    return this.withFailover(async (endpoint) => {
      try {
        const res = await this.#client(endpoint.url, signal).embed({ model, input });
        return res.embeddings;
      } catch (err) {
        if (isConnectionError(err) || isAbortError(err)) throw err;
        throw new LlmResponseError(`Ollama (${endpoint.role}, ${model})`, describeError(err));
      }
    }, signal);
  }

  /** The models of one endpoint with their capabilities (`/api/tags`, then `/api/show` for each). */
  async models(endpoint: OllamaEndpoint, signal?: AbortSignal): Promise<ModelInfo[]> {
    const client = this.#client(endpoint.url, signal);
    const list = await client.list();
    const out: ModelInfo[] = [];
    for (const m of list.models) {
      let capabilities: string[] = [];
      try {
        capabilities = (await client.show({ model: m.name })).capabilities ?? [];
      } catch (err) {
        if (isConnectionError(err) || isAbortError(err)) throw err;
      }
      out.push({
        name: m.name,
        capabilities,
        vision: capabilities.includes('vision'),
        tools: capabilities.includes('tools'),
        embedding: capabilities.includes('embedding'),
      });
    }
    return out;
  }
}

function toOpenAiMessages(messages: readonly ChatMessage[]): ChatCompletionMessageParam[] {
  return messages.map((m): ChatCompletionMessageParam => {
    switch (m.role) {
      case 'assistant':
        return {
          role: 'assistant',
          content: m.content,
          ...(m.tool_calls && m.tool_calls.length > 0
            ? {
                tool_calls: m.tool_calls.map((c) => ({
                  id: c.id,
                  type: 'function' as const,
                  function: { name: c.name, arguments: JSON.stringify(c.arguments) },
                })),
              }
            : {}),
        };
      case 'tool':
        return { role: 'tool', tool_call_id: m.tool_call_id, content: m.content };
      case 'user':
        // Vision stays on Ollama: images are never sent to OpenRouter.
        return { role: 'user', content: m.content };
      default:
        return { role: 'system', content: m.content };
    }
  });
}

export interface OpenRouterSettings {
  apiKey: string;
  baseUrl: string;
  defaultModel: string | undefined;
  allowedModels: string[];
  referer: string | undefined;
  title: string;
}

/**
 * OpenRouter through the `openai` client at OpenRouter's base URL: chat and tool calls, streamed
 * (SSE), tool-call arguments put back together from their fragments. No retries of the client's
 * own (a retry could run a minutes-long generation twice); no failover (one remote endpoint).
 */
export class OpenRouterBackend implements ChatBackend {
  readonly name = 'openrouter' as const;

  constructor(
    readonly settings: OpenRouterSettings,
    private readonly timeouts: LlmTimeouts,
  ) {}

  #client(signal?: AbortSignal): OpenAI {
    return new OpenAI({
      apiKey: this.settings.apiKey,
      baseURL: this.settings.baseUrl,
      maxRetries: 0,
      timeout: this.timeouts.requestMs,
      fetch: llmFetch(this.timeouts, signal),
      defaultHeaders: {
        'X-Title': this.settings.title,
        ...(this.settings.referer ? { 'HTTP-Referer': this.settings.referer } : {}),
      },
    });
  }

  /** The model a request may use: the named one (in the allowlist when there is one) or the default. */
  modelFor(requested: string | undefined): string {
    const model = requested ?? this.settings.defaultModel;
    if (!model) {
      throw new InsightsNotConfiguredError(
        'OPENROUTER_DEFAULT_MODEL (or OPENROUTER_MODEL)',
        'the OpenRouter model',
      );
    }
    return model;
  }

  isAllowed(model: string): boolean {
    const allowed = this.settings.allowedModels;
    return allowed.length === 0 || allowed.includes(model) || model === this.settings.defaultModel;
  }

  async chat(call: ChatCall): Promise<ChatCallResult> {
    const model = this.modelFor(call.model);
    const client = this.#client(call.signal);
    const tools: ChatCompletionTool[] = (call.tools ?? []).map((t) => ({
      type: 'function',
      function: { name: t.name, description: t.description, parameters: t.parameters },
    }));
    let stream: AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>;
    try {
      stream = await client.chat.completions.create(
        {
          model,
          messages: toOpenAiMessages(call.messages),
          stream: true,
          ...(tools.length > 0 ? { tools } : {}),
        },
        call.signal ? { signal: call.signal } : {},
      );
    } catch (err) {
      throw this.#wrap(err, model, call.signal);
    }
    let content = '';
    const assembler = new ToolCallAssembler();
    try {
      for await (const chunk of stream) {
        const errorField = (chunk as { error?: { message?: string } }).error;
        if (errorField) throw new LlmResponseError(`OpenRouter (${model})`, errorField.message ?? 'error');
        const delta = chunk.choices[0]?.delta;
        if (delta?.content) {
          content += delta.content;
          call.onText?.(delta.content);
        }
        for (const tc of delta?.tool_calls ?? []) assembler.push(tc);
      }
    } catch (err) {
      if (err instanceof LlmResponseError) throw err;
      if (call.signal?.aborted || isAbortError(err)) throw err;
      throw new LlmResponseError(`OpenRouter (${model})`, `stream broke off: ${describeError(err)}`);
    }
    // The client ends the stream quietly when it is aborted: an aborted call has no answer.
    if (call.signal?.aborted) throw call.signal.reason ?? new DOMException('aborted', 'AbortError');
    const assembled = assembler.finish();
    return {
      content,
      toolCalls: assembled.calls,
      invalidToolCalls: assembled.errors.map((e) => ({ name: e.name, message: e.message })),
      backend: 'openrouter',
      model,
      endpoint: 'openrouter',
    };
  }

  #wrap(err: unknown, model: string, signal?: AbortSignal): Error {
    if (signal?.aborted || isAbortError(err)) return err as Error;
    if (err instanceof OpenAI.APIConnectionError || isConnectionError(err)) {
      return new LlmUnavailableError([`OpenRouter at ${this.settings.baseUrl}: ${describeError(err)}`]);
    }
    const status = (err as { status?: number }).status;
    return new LlmResponseError(`OpenRouter (${model})`, describeError(err), status);
  }

  /** OpenRouter's model list (`GET /models`). */
  async models(signal?: AbortSignal): Promise<{ id: string; name?: string; context_length?: number }[]> {
    try {
      const page = await this.#client(signal).models.list();
      return page.data.map((m) => m as unknown as { id: string; name?: string; context_length?: number });
    } catch (err) {
      throw this.#wrap(err, 'models', signal);
    }
  }
}
