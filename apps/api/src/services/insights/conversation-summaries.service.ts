import type { SummaryVectorsRepository } from '@lumen/db';
import type { Logger } from '@lumen/runtime';
import { z } from 'zod';
import type { InsightBackends } from './insight-backends.ts';
import type { ConversationSearch } from './insight-tools.ts';
import { describeError, InsightsNotConfiguredError } from './llm-errors.ts';

const SMS_TIMEOUT_MS = 30_000;
const MAX_TRANSCRIPT_CHARS = 12_000;

/** What the SMS API answers for `GET /messages?date=YYYY-MM-DD` (docs/insights.md). */
const smsDaySchema = z.object({
  messages: z.array(
    z.object({
      contact: z.string().min(1),
      timestamp: z.string(),
      direction: z.enum(['in', 'out']),
      body: z.string(),
    }),
  ),
});
type SmsMessage = z.infer<typeof smsDaySchema>['messages'][number];

export interface SummaryRunStats {
  days: number;
  summarised: number;
  skipped: number;
  messages: number;
  seconds: number;
}

/** Every day from `from` to `to` (inclusive), `YYYY-MM-DD`. */
export function daysBetween(from: string, to: string): string[] {
  const out: string[] = [];
  const end = Date.parse(`${to}T00:00:00Z`);
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= end; t += 86_400_000)
    out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

/**
 * Daily conversation summaries (SPEC 7): each day's messages from the SMS API, one summary per
 * contact by the chat backend, embedded by Ollama's embedding model, stored with the vector.
 * Idempotent and resumable: a (day, contact) with a stored summary and vector is skipped, and the
 * two are written in one transaction, so a killed run continues where it stopped.
 */
export class ConversationSummariesService implements ConversationSearch {
  constructor(
    private readonly deps: {
      backends: InsightBackends;
      repo: SummaryVectorsRepository;
      smsUrl: string | undefined;
      smsToken: string | undefined;
      embedModel: string;
      logger: Logger;
    },
  ) {}

  async #fetchDay(day: string, signal?: AbortSignal): Promise<SmsMessage[]> {
    if (!this.deps.smsUrl) throw new InsightsNotConfiguredError('SMS_API_URL', 'the SMS API');
    const signals = [AbortSignal.timeout(SMS_TIMEOUT_MS), ...(signal ? [signal] : [])];
    const res = await fetch(`${this.deps.smsUrl}/messages?date=${day}`, {
      headers: this.deps.smsToken ? { Authorization: `Bearer ${this.deps.smsToken}` } : {},
      signal: AbortSignal.any(signals),
    });
    if (!res.ok)
      throw new Error(`SMS API: HTTP ${res.status} for ${day}: ${(await res.text()).slice(0, 200)}`);
    const parsed = smsDaySchema.safeParse(await res.json());
    if (!parsed.success)
      throw new Error(`SMS API: unexpected answer for ${day}: ${parsed.error.issues[0]?.message}`);
    return parsed.data.messages;
  }

  /** Summarise every day of the range; progress is logged after each day (counts and rate). */
  async run(range: { from: string; to: string }, signal?: AbortSignal): Promise<SummaryRunStats> {
    const ollama = this.deps.backends.requireOllama();
    const backend = this.deps.backends.chatBackend(undefined);
    const started = Date.now();
    const stats: SummaryRunStats = { days: 0, summarised: 0, skipped: 0, messages: 0, seconds: 0 };
    const days = daysBetween(range.from, range.to);
    for (const day of days) {
      signal?.throwIfAborted();
      const messages = await this.#fetchDay(day, signal);
      const byContact = new Map<string, SmsMessage[]>();
      for (const m of messages) byContact.set(m.contact, [...(byContact.get(m.contact) ?? []), m]);
      const done = await this.deps.repo.doneContacts(day);
      for (const [contact, thread] of [...byContact.entries()].sort(([a], [b]) => a.localeCompare(b))) {
        if (done.has(contact)) {
          stats.skipped++;
          continue;
        }
        thread.sort((a, b) => a.timestamp.localeCompare(b.timestamp));
        const text = thread
          .map((m) => `${m.timestamp.slice(11, 16)} ${m.direction === 'out' ? 'me' : contact}: ${m.body}`)
          .join('\n')
          .slice(0, MAX_TRANSCRIPT_CHARS);
        const answer = await backend.chat({
          messages: [
            {
              role: 'system',
              content:
                'You summarise text-message conversations for a personal photo archive. Plain text, 2-4 sentences: who, what happened, plans, places, feelings.',
            },
            { role: 'user', content: `Conversation with ${contact} on ${day}:\n${text}` },
          ],
          ...(signal ? { signal } : {}),
        });
        const summary = answer.content.trim();
        const [vector] = await ollama.embed(this.deps.embedModel, [summary], signal);
        if (!vector) throw new Error(`the embedding model ${this.deps.embedModel} returned no vector`);
        await this.deps.repo.insert({
          day,
          contact,
          summary,
          messageCount: thread.length,
          model: answer.model,
          embeddingModel: this.deps.embedModel,
          embedding: vector,
        });
        stats.summarised++;
        stats.messages += thread.length;
      }
      stats.days++;
      stats.seconds = (Date.now() - started) / 1000;
      this.deps.logger.info(
        {
          day,
          days: `${stats.days}/${days.length}`,
          summarised: stats.summarised,
          skipped: stats.skipped,
          messages: stats.messages,
          perMinute: Math.round((stats.summarised / Math.max(stats.seconds, 0.001)) * 60 * 10) / 10,
        },
        'conversation summaries progress',
      );
    }
    return stats;
  }

  /** Semantic search over the summaries (the agentic tool `search_conversations`). */
  async search(query: string, limit: number, signal?: AbortSignal): Promise<unknown[]> {
    const ollama = this.deps.backends.requireOllama();
    try {
      const [vector] = await ollama.embed(this.deps.embedModel, [query], signal);
      if (!vector) return [];
      const hits = await this.deps.repo.search(vector, this.deps.embedModel, limit);
      return hits.map((h) => ({
        day: h.day,
        contact: h.contact,
        summary: h.summary,
        score: Math.round((1 - h.distance) * 1000) / 1000,
      }));
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new Error(`conversation search failed: ${describeError(err)}`);
    }
  }
}
