import {
  type ChatEvent,
  type ChatMessage,
  type GenerateInsightBody,
  type InsightQuery,
  parseTranscript,
  type RateBody,
  serializeTranscript,
} from '@lumen/core';
import type { InsightRow, InsightsRepository } from '@lumen/db';
import type { Logger } from '@lumen/runtime';
import { ProblemError } from '../../http/problem.ts';
import { runAgentLoop } from './agent-loop.ts';
import type { InsightBackends } from './insight-backends.ts';
import type { InsightPhotoLoader } from './insight-photo.ts';
import { type InsightPhoto, type InsightTools, photoFacts } from './insight-tools.ts';
import type { ChatBackend, ModelInfo } from './llm-backends.ts';
import { describeError, isAbortError } from './llm-errors.ts';

export const SYSTEM_PROMPT = [
  "You are Lumen's photo assistant. You write short, warm insights about a user's photo: where and",
  'when it was taken, what it shows, and what it may mean to them. Use the tools to look facts up',
  '(place, nearby photos, tags, conversations) instead of guessing. Answer in plain text. When you',
  'write an insight, its first line is a title of at most 8 words, then a blank line, then the insight.',
].join(' ');

const VISION_PROMPT =
  'Describe this photo in detail: the scene, people, objects, light, weather and mood. Plain text, one paragraph.';

export interface InsightView {
  id: number;
  path: string;
  library_id: number;
  title: string | null;
  summary: string | null;
  model: string | null;
  backend: string | null;
  rating: number | null;
  is_current: boolean;
  /** User messages in its chat (the first is the generation request). */
  turns: number;
  created_at: string;
  updated_at: string | null;
}

export function insightView(row: InsightRow): InsightView {
  return {
    id: Number(row.id),
    path: row.rel_path,
    library_id: Number(row.library_id),
    title: row.title,
    summary: row.summary,
    model: row.model,
    backend: row.backend,
    rating: row.rating,
    is_current: Number(row.is_current) === 1,
    turns: parseTranscript(row.transcript).filter((m) => m.role === 'user').length,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

/** The first line of an answer as its title, the rest as its summary. */
export function splitTitle(answer: string): { title: string | null; summary: string } {
  const text = answer.trim();
  const newline = text.indexOf('\n');
  if (newline < 0) return { title: null, summary: text };
  const title = text
    .slice(0, newline)
    .replace(/^#+\s*|^title:\s*/i, '')
    .replace(/^["'*]+|["'*]+$/g, '')
    .trim()
    .slice(0, 120);
  const summary = text.slice(newline + 1).trim();
  return title && summary ? { title, summary } : { title: null, summary: text };
}

export interface GenerateResult {
  insight: InsightView;
  iterations: number;
  stop_reason: 'answer' | 'max_iterations';
  tool_calls: number;
}

/**
 * Generating insights (one shot, or with the tool loop), listing and rating them, and model
 * discovery. Chat continuation is InsightChatService.
 *
 * Order of checks, in every method that names a photo: the request's shape (400, in the route),
 * the photo it names (404, 400 ambiguous, 409 not hashed), then the backend (503
 * `insights-not-configured`), then stored state (404 no insight yet). A bad request is told what
 * is wrong with it whether or not a backend is configured.
 */
export class InsightsService {
  constructor(
    private readonly deps: {
      backends: InsightBackends;
      repo: InsightsRepository;
      photos: InsightPhotoLoader;
      tools: InsightTools;
      maxIterations: number;
      logger: Logger;
    },
  ) {}

  /**
   * The first user message: the photo's facts, and what it shows: the image itself for Ollama, a
   * description by Ollama's vision model for OpenRouter (vision stays on Ollama), or nothing.
   */
  async firstMessage(
    photo: InsightPhoto,
    backend: ChatBackend,
    prompt: string | undefined,
    signal?: AbortSignal,
  ): Promise<ChatMessage> {
    const lines = [
      `Photo "${photo.relPath}" in library "${photo.library}".`,
      `Metadata: ${JSON.stringify(photoFacts(photo))}`,
    ];
    const preview = await this.deps.photos.previewBase64(photo);
    let images: string[] | undefined;
    if (preview && backend.name === 'ollama') images = [preview];
    else if (preview && this.deps.backends.ollama) {
      try {
        const seen = await this.deps.backends.ollama.chat({
          messages: [{ role: 'user', content: VISION_PROMPT, images: [preview] }],
          ...(signal ? { signal } : {}),
        });
        lines.push(`What the photo shows (described by ${seen.model}): ${seen.content.trim()}`);
      } catch (err) {
        if (signal?.aborted || isAbortError(err)) throw err;
        this.deps.logger.warn({ err: describeError(err) }, 'vision description failed; metadata only');
      }
    }
    if (prompt) lines.push(`The user asks: ${prompt}`);
    lines.push('Write an insight about this photo.');
    return { role: 'user', content: lines.join('\n'), ...(images ? { images } : {}) };
  }

  async generate(
    body: GenerateInsightBody,
    mode: 'oneshot' | 'agentic',
    signal?: AbortSignal,
    emit: (e: ChatEvent) => void = () => {},
  ): Promise<GenerateResult> {
    const photo = await this.deps.photos.load(body);
    const backend = this.deps.backends.chatBackend(body.backend, undefined, body.model);
    const first = await this.firstMessage(photo, backend, body.prompt, signal);
    let toolCalls = 0;
    const result = await runAgentLoop({
      backend,
      model: body.model,
      system: SYSTEM_PROMPT,
      transcript: [first],
      tools: mode === 'agentic' ? this.deps.tools.definitions() : [],
      runTool: (name, args) => {
        toolCalls++;
        return this.deps.tools.run(name, args, { photo, ...(signal ? { signal } : {}) });
      },
      maxIterations: mode === 'agentic' ? this.deps.maxIterations : 1,
      numCtx: this.deps.backends.numCtx,
      ...(signal ? { signal } : {}),
      emit,
    });
    const { title, summary } = splitTitle(result.content);
    const row = await this.deps.repo.insertCurrent({
      libraryId: photo.libraryId,
      relPath: photo.relPath,
      contentHash: photo.contentHash,
      title,
      summary,
      model: result.model,
      backend: result.backend,
      transcript: serializeTranscript(result.transcript),
    });
    this.deps.logger.info(
      {
        insightId: row.id,
        mode,
        backend: result.backend,
        model: result.model,
        iterations: result.iterations,
        toolCalls,
      },
      'insight generated',
    );
    return {
      insight: insightView(row),
      iterations: result.iterations,
      stop_reason: result.stopReason,
      tool_calls: toolCalls,
    };
  }

  /** The current insight of a photo (and, with `all`, every older one). */
  async list(query: InsightQuery): Promise<{ current: InsightView | null; history?: InsightView[] }> {
    const photo = await this.deps.photos.load(query);
    this.deps.backends.requireAny();
    if (query.all) {
      const rows = await this.deps.repo.history(photo.contentHash);
      const views = rows.map(insightView);
      return { current: views.find((v) => v.is_current) ?? null, history: views };
    }
    const row = await this.deps.repo.current(photo.contentHash);
    return { current: row ? insightView(row) : null };
  }

  async rate(body: RateBody): Promise<InsightView> {
    const photo = await this.deps.photos.load(body);
    this.deps.backends.requireAny();
    const row = await this.deps.repo.current(photo.contentHash);
    if (!row) throw new ProblemError('not-found', `"${photo.relPath}" has no insight to rate`);
    await this.deps.repo.rate(Number(row.id), body.rating);
    return insightView((await this.deps.repo.byId(Number(row.id)))!);
  }

  /** What each configured backend offers. Unreachable endpoints are reported, not fatal. */
  async models(signal?: AbortSignal): Promise<{
    ollama: {
      role: string;
      url: string;
      model: string | null;
      reachable: boolean;
      error?: string;
      models: ModelInfo[];
    }[];
    openrouter: { configured: boolean; default_model: string | null; allowed_models: string[] };
    chat_backend: string;
  }> {
    const { backends } = this.deps;
    backends.requireAny();
    const ollama = [];
    for (const endpoint of backends.ollama?.endpoints ?? []) {
      try {
        const models = await backends.ollama!.models(endpoint, signal);
        ollama.push({
          role: endpoint.role,
          url: endpoint.url,
          model: endpoint.model ?? null,
          reachable: true,
          models,
        });
      } catch (err) {
        ollama.push({
          role: endpoint.role,
          url: endpoint.url,
          model: endpoint.model ?? null,
          reachable: false,
          error: describeError(err),
          models: [],
        });
      }
    }
    const settings = backends.openrouter?.settings;
    return {
      ollama,
      openrouter: {
        configured: backends.openrouter !== undefined,
        default_model: settings?.defaultModel ?? null,
        allowed_models: settings?.allowedModels ?? [],
      },
      chat_backend: backends.openrouter ? 'openrouter' : 'ollama',
    };
  }

  /** The models a client may pick on OpenRouter: the allowlist (plus the default), with OpenRouter's details. */
  async openrouterModels(signal?: AbortSignal): Promise<{
    default_model: string | null;
    models: { id: string; name: string | null; context_length: number | null; available: boolean }[];
  }> {
    const openrouter = this.deps.backends.requireOpenRouter();
    const remote = await openrouter.models(signal);
    const byId = new Map(remote.map((m) => [m.id, m]));
    const { allowedModels, defaultModel } = openrouter.settings;
    const ids =
      allowedModels.length > 0
        ? [...new Set([...(defaultModel ? [defaultModel] : []), ...allowedModels])]
        : remote.map((m) => m.id);
    return {
      default_model: defaultModel ?? null,
      models: ids.map((id) => {
        const m = byId.get(id);
        return {
          id,
          name: m?.name ?? null,
          context_length: m?.context_length ?? null,
          available: m !== undefined,
        };
      }),
    };
  }
}
