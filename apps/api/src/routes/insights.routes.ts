import { createRoute, z } from '@hono/zod-openapi';
import {
  type ChatEvent,
  chatBodySchema,
  generateInsightBodySchema,
  insightQuerySchema,
  rateBodySchema,
  rewindBodySchema,
  sseFrame,
} from '@lumen/core';
import { streamSSE } from 'hono/streaming';
import type { App } from '../http/app-env.ts';
import { jsonBodyLimit } from '../http/json-body-limit.ts';
import { problemResponses } from '../http/problem.schema.ts';
import { problemType } from '../http/problem.ts';
import { insightsProblem } from '../services/insights/insight-backends.ts';
import type { InsightChatService } from '../services/insights/insight-chat.service.ts';
import type { InsightsService } from '../services/insights/insights.service.ts';

const BODY_MAX_BYTES = 64 * 1024;
const json = <T>(schema: T) => ({ 'application/json': { schema } });
const security = [{ bearerAuth: [] }];
const tags = ['insights'];
const Any = (name: string, description: string) => z.any().openapi(name, { description });
const llmProblems = ['insights-not-configured', 'llm-unavailable', 'llm-error'] as const;

/** Run a service call; backend errors leave as their problems (503 naming a setting, 503, 502). */
async function mapped<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw insightsProblem(err);
  }
}

const generateRoute = (path: string, summary: string) =>
  createRoute({
    method: 'post',
    path,
    tags,
    summary,
    security,
    middleware: [jsonBodyLimit(BODY_MAX_BYTES)] as const,
    request: { body: { required: true, content: json(generateInsightBodySchema) } },
    responses: {
      200: {
        description: 'The stored insight',
        content: json(Any('GeneratedInsight', 'insight, iterations, stop_reason, tool_calls')),
      },
      ...problemResponses('validation', 'unauthorized', 'not-found', 'conflict', ...llmProblems),
    },
  });

const listRoute = createRoute({
  method: 'get',
  path: '/insights',
  tags,
  summary: "A photo's current insight (all=true: with the older ones)",
  security,
  request: { query: insightQuerySchema },
  responses: {
    200: {
      description: 'current (null when none) and, with all, history',
      content: json(Any('InsightList', '{ current, history? }')),
    },
    ...problemResponses('validation', 'unauthorized', 'not-found', 'insights-not-configured'),
  },
});

const modelsRoute = createRoute({
  method: 'get',
  path: '/insights/models',
  tags,
  summary: 'The models of each Ollama endpoint (with vision/tools capabilities) and the OpenRouter settings',
  security,
  responses: {
    200: {
      description: 'Models',
      content: json(Any('InsightModels', '{ ollama: [...], openrouter, chat_backend }')),
    },
    ...problemResponses('unauthorized', 'insights-not-configured'),
  },
});

const openrouterModelsRoute = createRoute({
  method: 'get',
  path: '/insights/openrouter/models',
  tags,
  summary: 'The OpenRouter models a client may choose (OPENROUTER_ALLOWED_MODELS)',
  security,
  responses: {
    200: { description: 'Models', content: json(Any('OpenRouterModels', '{ default_model, models }')) },
    ...problemResponses('unauthorized', ...llmProblems),
  },
});

const rateRoute = createRoute({
  method: 'post',
  path: '/insights/rate',
  tags,
  summary: "Rate a photo's current insight (-1..5)",
  security,
  middleware: [jsonBodyLimit(BODY_MAX_BYTES)] as const,
  request: { body: { required: true, content: json(rateBodySchema) } },
  responses: {
    200: { description: 'The rated insight', content: json(Any('Insight', 'An insight')) },
    ...problemResponses('validation', 'unauthorized', 'not-found', 'insights-not-configured'),
  },
});

const chatRoute = createRoute({
  method: 'post',
  path: '/insights/chat',
  tags,
  summary: 'One chat turn on the current insight (tool loop, at most AGENTIC_CHAT_MAX_ITERATIONS)',
  security,
  middleware: [jsonBodyLimit(BODY_MAX_BYTES)] as const,
  request: { body: { required: true, content: json(chatBodySchema) } },
  responses: {
    200: {
      description: 'The answer',
      content: json(Any('ChatTurn', 'insight_id, content, iterations, stop_reason, backend, model, amended')),
    },
    ...problemResponses('validation', 'unauthorized', 'not-found', 'conflict', ...llmProblems),
  },
});

const chatStreamRoute = createRoute({
  method: 'post',
  path: '/insights/chat/stream',
  tags,
  summary: 'One chat turn as server-sent events',
  description:
    'Events: iteration_start, text, tool_call, tool_result, truncated, done, error_message (see docs/insights.md). Comment lines are heartbeats. Closing the connection stops the turn and its model call; nothing is stored then.',
  security,
  middleware: [jsonBodyLimit(BODY_MAX_BYTES)] as const,
  request: { body: { required: true, content: json(chatBodySchema) } },
  responses: {
    200: { description: 'An SSE stream', content: { 'text/event-stream': { schema: z.string() } } },
    ...problemResponses('validation', 'unauthorized', 'not-found', 'conflict', 'insights-not-configured'),
  },
});

const historyRoute = createRoute({
  method: 'get',
  path: '/insights/chat/history',
  tags,
  summary: "The chat of a photo's current insight, tool calls included (long tool results cut, flagged)",
  security,
  request: { query: insightQuerySchema },
  responses: {
    200: {
      description: 'History',
      content: json(Any('ChatHistory', '{ insight_id, title, model, backend, messages }')),
    },
    ...problemResponses('validation', 'unauthorized', 'not-found', 'insights-not-configured'),
  },
});

const rewindRoute = createRoute({
  method: 'post',
  path: '/insights/chat/rewind',
  tags,
  summary: 'Drop a user turn and everything after it (the last turn by default; index 0 is protected)',
  security,
  middleware: [jsonBodyLimit(BODY_MAX_BYTES)] as const,
  request: { body: { required: true, content: json(rewindBodySchema) } },
  responses: {
    200: {
      description: 'The history left',
      content: json(Any('ChatRewind', '{ insight_id, removed, messages, ... }')),
    },
    ...problemResponses('validation', 'unauthorized', 'not-found', 'insights-not-configured'),
  },
});

export function registerInsightsRoutes(
  app: App,
  deps: { insights: InsightsService; chat: InsightChatService; heartbeatMs: number },
): void {
  const { insights, chat } = deps;
  app.openapi(
    generateRoute('/insights/generate', 'Generate an insight in one model call (photo preview + metadata)'),
    async (c) =>
      c.json(await mapped(() => insights.generate(c.req.valid('json'), 'oneshot', c.req.raw.signal)), 200),
  );
  app.openapi(
    generateRoute(
      '/insights/generate/agentic',
      'Generate an insight with the tool loop (at most AGENTIC_MAX_ITERATIONS)',
    ),
    async (c) =>
      c.json(await mapped(() => insights.generate(c.req.valid('json'), 'agentic', c.req.raw.signal)), 200),
  );
  app.openapi(listRoute, async (c) => {
    c.header('Cache-Control', 'private, no-store');
    return c.json(await mapped(() => insights.list(c.req.valid('query'))), 200);
  });
  app.openapi(modelsRoute, async (c) => c.json(await mapped(() => insights.models(c.req.raw.signal)), 200));
  app.openapi(openrouterModelsRoute, async (c) =>
    c.json(await mapped(() => insights.openrouterModels(c.req.raw.signal)), 200),
  );
  app.openapi(rateRoute, async (c) => c.json(await mapped(() => insights.rate(c.req.valid('json'))), 200));
  app.openapi(chatRoute, async (c) => {
    const turn = await mapped(() => chat.prepare(c.req.valid('json')));
    return c.json(await mapped(() => chat.run(turn, c.req.raw.signal, () => {})), 200);
  });
  app.openapi(historyRoute, async (c) => {
    c.header('Cache-Control', 'private, no-store');
    return c.json(await mapped(() => chat.history(c.req.valid('query'))), 200);
  });
  app.openapi(rewindRoute, async (c) => c.json(await mapped(() => chat.rewind(c.req.valid('json'))), 200));

  app.openapi(chatStreamRoute, async (c) => {
    // Checked before the stream starts, so a bad request or a missing backend is a plain problem.
    const turn = await mapped(() => chat.prepare(c.req.valid('json')));
    const logger = c.var.logger;
    c.header('Cache-Control', 'no-cache');
    c.header('X-Accel-Buffering', 'no');
    return streamSSE(c, async (stream) => {
      const controller = new AbortController();
      stream.onAbort(() => controller.abort(new DOMException('the client went away', 'AbortError')));
      c.req.raw.signal.addEventListener('abort', () => controller.abort(c.req.raw.signal.reason), {
        once: true,
      });
      // Writes are chained so events leave in order.
      let queue: Promise<void> = Promise.resolve();
      const send = (event: ChatEvent) => {
        queue = queue.then(() => (stream.closed ? undefined : stream.writeSSE(sseFrame(event))));
      };
      const heartbeat = setInterval(() => {
        queue = queue.then(() =>
          stream.closed ? undefined : stream.write(': heartbeat\n\n').then(() => {}),
        );
      }, deps.heartbeatMs);
      try {
        await chat.run(turn, controller.signal, send);
      } catch (err) {
        if (controller.signal.aborted) {
          logger.info(
            { path: turn.photo.relPath },
            'insight chat stream: the client went away; turn stopped',
          );
        } else {
          const problem = insightsProblem(err) as { kind?: string; message?: string };
          const kind = (problem as { kind?: Parameters<typeof problemType>[0] }).kind ?? 'internal';
          logger.warn({ err: (err as Error).message }, 'insight chat stream failed');
          send({ type: 'error_message', message: (err as Error).message, problem_type: problemType(kind) });
        }
      } finally {
        clearInterval(heartbeat);
        await queue.catch(() => {});
      }
    });
  });
}
