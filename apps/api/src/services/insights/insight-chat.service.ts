import {
  type ChatBody,
  type ChatEvent,
  type HistoryEntry,
  historyView,
  type InsightQuery,
  parseTranscript,
  type RewindBody,
  rewindPoint,
  serializeTranscript,
} from '@lumen/core';
import type { InsightRow, InsightsRepository } from '@lumen/db';
import type { Logger } from '@lumen/runtime';
import { ProblemError } from '../../http/problem.ts';
import { runAgentLoop } from './agent-loop.ts';
import type { InsightBackends } from './insight-backends.ts';
import type { InsightLocks } from './insight-locks.ts';
import type { InsightPhotoLoader } from './insight-photo.ts';
import type { InsightPhoto, InsightTools } from './insight-tools.ts';
import { SYSTEM_PROMPT } from './insights.service.ts';
import type { ChatBackend } from './llm-backends.ts';

/** A turn checked and ready to run (the checks answer as problem+json before any stream starts). */
export interface PreparedTurn {
  body: ChatBody;
  photo: InsightPhoto;
  backend: ChatBackend;
  model: string | undefined;
}

export interface TurnResult {
  insight_id: number;
  content: string;
  iterations: number;
  stop_reason: 'answer' | 'max_iterations';
  backend: string;
  model: string;
  amended: boolean;
}

export interface HistoryView {
  insight_id: number;
  title: string | null;
  model: string | null;
  backend: string | null;
  messages: HistoryEntry[];
}

/**
 * Chat continuation on a stored insight: a turn appends the user's message, runs the tool loop (at
 * most AGENTIC_CHAT_MAX_ITERATIONS model calls) and stores the transcript, on the same row or, in
 * amend mode, on a new current row. Turns on one insight hold its lock, so two never interleave. A
 * turn whose client went away stops (its model call is aborted) and stores nothing. The photo is
 * resolved before the backend is required (the order of checks of InsightsService).
 */
export class InsightChatService {
  constructor(
    private readonly deps: {
      backends: InsightBackends;
      repo: InsightsRepository;
      photos: InsightPhotoLoader;
      tools: InsightTools;
      locks: InsightLocks;
      maxIterations: number;
      logger: Logger;
    },
  ) {}

  async #currentOrThrow(photo: InsightPhoto): Promise<InsightRow> {
    const row = await this.deps.repo.current(photo.contentHash);
    if (!row) {
      throw new ProblemError(
        'not-found',
        `"${photo.relPath}" has no insight yet: POST /insights/generate/agentic (or /insights/generate) first`,
      );
    }
    return row;
  }

  async prepare(body: ChatBody): Promise<PreparedTurn> {
    const photo = await this.deps.photos.load(body);
    this.deps.backends.requireAny();
    const insight = await this.#currentOrThrow(photo);
    const backend = this.deps.backends.chatBackend(body.backend, insight.backend, body.model);
    // The insight's model goes on with it unless the request names one or switches backend.
    const model = body.model ?? (backend.name === insight.backend ? (insight.model ?? undefined) : undefined);
    return { body, photo, backend, model };
  }

  async run(
    turn: PreparedTurn,
    signal: AbortSignal | undefined,
    emit: (e: ChatEvent) => void,
  ): Promise<TurnResult> {
    const { photo, body } = turn;
    const release = await this.deps.locks.acquire(photo.contentHash, signal);
    try {
      // Read under the lock: a turn that ran while this one waited is part of the history now.
      const insight = await this.#currentOrThrow(photo);
      const transcript = parseTranscript(insight.transcript);
      transcript.push({ role: 'user', content: body.message });
      const result = await runAgentLoop({
        backend: turn.backend,
        model: turn.model,
        system: SYSTEM_PROMPT,
        transcript,
        tools: this.deps.tools.definitions(),
        runTool: (name, args) => this.deps.tools.run(name, args, { photo, ...(signal ? { signal } : {}) }),
        maxIterations: this.deps.maxIterations,
        numCtx: this.deps.backends.numCtx,
        ...(signal ? { signal } : {}),
        emit,
      });
      signal?.throwIfAborted();
      const stored = serializeTranscript(result.transcript);
      let insightId = Number(insight.id);
      if (body.amend) {
        const row = await this.deps.repo.insertCurrent({
          libraryId: photo.libraryId,
          relPath: photo.relPath,
          contentHash: photo.contentHash,
          title: insight.title,
          summary: result.content.trim() || insight.summary,
          model: result.model,
          backend: result.backend,
          transcript: stored,
        });
        insightId = Number(row.id);
      } else {
        await this.deps.repo.updateTranscript(insightId, {
          transcript: stored,
          model: result.model,
          backend: result.backend,
        });
      }
      const out: TurnResult = {
        insight_id: insightId,
        content: result.content,
        iterations: result.iterations,
        stop_reason: result.stopReason,
        backend: result.backend,
        model: result.model,
        amended: body.amend,
      };
      emit({
        type: 'done',
        insight_id: insightId,
        iterations: result.iterations,
        stop_reason: result.stopReason,
        content: result.content,
        backend: result.backend,
        model: result.model,
      });
      this.deps.logger.info(
        { insightId, amend: body.amend, iterations: result.iterations, backend: result.backend },
        'insight chat turn',
      );
      return out;
    } finally {
      release();
    }
  }

  async history(query: InsightQuery): Promise<HistoryView> {
    const photo = await this.deps.photos.load(query);
    this.deps.backends.requireAny();
    const insight = await this.#currentOrThrow(photo);
    return {
      insight_id: Number(insight.id),
      title: insight.title,
      model: insight.model,
      backend: insight.backend,
      messages: historyView(parseTranscript(insight.transcript)),
    };
  }

  /** Drop a user turn and all after it (the last one by default); index 0 is protected. */
  async rewind(body: RewindBody): Promise<HistoryView & { removed: number }> {
    const photo = await this.deps.photos.load(body);
    this.deps.backends.requireAny();
    const release = await this.deps.locks.acquire(photo.contentHash);
    try {
      const insight = await this.#currentOrThrow(photo);
      const transcript = parseTranscript(insight.transcript);
      const point = rewindPoint(transcript, body.index);
      if (!point.ok) {
        throw new ProblemError('validation', point.message, {
          errors: [{ in: 'body', name: 'index', message: point.message }],
        });
      }
      const kept = transcript.slice(0, point.keep);
      await this.deps.repo.updateTranscript(Number(insight.id), { transcript: serializeTranscript(kept) });
      return {
        insight_id: Number(insight.id),
        title: insight.title,
        model: insight.model,
        backend: insight.backend,
        removed: transcript.length - kept.length,
        messages: historyView(kept),
      };
    } finally {
      release();
    }
  }
}
