import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Small real HTTP servers that speak the protocols of the LLM backends exactly enough for the
 * clients (`ollama`, `openai`) to work against them, scripted per test: each chat request takes the
 * next reply from a queue. What cannot run on these machines (a model) is replaced at the protocol
 * level, never by mocking our own code.
 *
 * - Ollama: `POST /api/chat` (NDJSON stream, tool calls), `POST /api/embed`, `GET /api/tags`,
 *   `POST /api/show` (capabilities).
 * - OpenAI-compatible (OpenRouter): `POST /chat/completions` (SSE, tool-call arguments split across
 *   chunks), `GET /models`.
 */

export interface ScriptedToolCall {
  name: string;
  arguments: Record<string, unknown>;
}

/** One scripted chat reply. */
export interface ScriptedReply {
  /** Answer text, streamed one piece per chunk (a string is split in pieces of `chunkChars`). */
  text?: string | string[];
  toolCalls?: ScriptedToolCall[];
  /** Pause before each chunk (ms). */
  delayMs?: number;
  /** Stream the text, then keep the response open until the client goes away. */
  hang?: boolean;
  /** Answer with this HTTP status and error instead of a stream. */
  status?: number;
  error?: string;
  /** Characters per streamed text chunk / per tool-argument fragment (OpenAI). Default 7 / 5. */
  chunkChars?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: unknown;
  /** Set when the client closed the connection before the response ended. */
  aborted: boolean;
  /** Resolves when the response ended or the client went away. */
  closed: Promise<void>;
}

export interface ScriptedModel {
  name: string;
  /** Ollama capabilities, e.g. `['completion', 'vision', 'tools']`. */
  capabilities?: string[];
  /** OpenRouter-style input modalities. */
  contextLength?: number;
}

interface ScriptedServerBase {
  url: string;
  requests: RecordedRequest[];
  /** Replies the next chat requests get, in order. */
  replies: ScriptedReply[];
  /** When `replies` is empty: a reply made from the request body (the demo script); else a 500. */
  autoReply?: ((body: Record<string, unknown>) => ScriptedReply) | undefined;
  models: ScriptedModel[];
  /** Requests to the chat endpoint (the others filtered out). */
  chatRequests(): RecordedRequest[];
  /** Resolves with the next chat request the client aborts. */
  nextAbort(): Promise<RecordedRequest>;
  close(): Promise<void>;
}

export interface ScriptedOllama extends ScriptedServerBase {
  /** The vector `/api/embed` returns for one input (default: a deterministic bag-of-letters vector). */
  embed: (input: string) => number[];
}

export type ScriptedOpenRouter = ScriptedServerBase;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function pieces(text: string | string[] | undefined, size: number): string[] {
  if (text === undefined) return [];
  if (Array.isArray(text)) return text;
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

/** 26 letters + digits + other, normalised: similar texts get similar vectors. */
export function bagOfLettersVector(input: string): number[] {
  const v = new Array<number>(32).fill(0);
  for (const ch of input.toLowerCase()) {
    const code = ch.charCodeAt(0);
    if (code >= 97 && code <= 122) v[code - 97]! += 1;
    else if (code >= 48 && code <= 57) v[26 + ((code - 48) % 5)]! += 1;
    else if (ch.trim()) v[31]! += 1;
  }
  const norm = Math.hypot(...v) || 1;
  return v.map((x) => x / norm);
}

async function readBody(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

type Handler = (
  req: http.IncomingMessage,
  res: http.ServerResponse,
  recorded: RecordedRequest,
  server: ScriptedServerBase,
) => Promise<void>;

async function serve(handler: Handler, chatPath: string): Promise<ScriptedServerBase> {
  const abortWaiters: ((r: RecordedRequest) => void)[] = [];
  const requests: RecordedRequest[] = [];
  let base: ScriptedServerBase;
  const server = http.createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      let onClosed!: () => void;
      const recorded: RecordedRequest = {
        method: req.method ?? 'GET',
        path: (req.url ?? '/').split('?')[0]!,
        headers: req.headers,
        body,
        aborted: false,
        closed: new Promise<void>((resolve) => {
          onClosed = resolve;
        }),
      };
      requests.push(recorded);
      res.on('close', () => {
        if (!res.writableFinished) {
          recorded.aborted = true;
          if (recorded.path === chatPath) for (const w of abortWaiters.splice(0)) w(recorded);
        }
        onClosed();
      });
      try {
        await handler(req, res, recorded, base);
      } catch (err) {
        if (!res.headersSent) {
          res.writeHead(500, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ error: String(err) }));
        } else res.destroy();
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  base = {
    url,
    requests,
    replies: [],
    models: [],
    chatRequests: () => requests.filter((r) => r.path === chatPath),
    nextAbort: () => new Promise<RecordedRequest>((resolve) => abortWaiters.push(resolve)),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return base;
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

function nextReply(
  server: ScriptedServerBase,
  res: http.ServerResponse,
  body: Record<string, unknown>,
): ScriptedReply | undefined {
  const reply = server.replies.shift() ?? server.autoReply?.(body);
  if (!reply) {
    json(res, 500, { error: 'the scripted server has no reply left for this request' });
    return undefined;
  }
  if (reply.status !== undefined) {
    json(res, reply.status, { error: reply.error ?? `scripted status ${reply.status}` });
    return undefined;
  }
  return reply;
}

async function hangUntilClosed(res: http.ServerResponse, recorded: RecordedRequest): Promise<void> {
  // Keep the response open; only the client's going away ends it.
  await recorded.closed;
  res.destroy();
}

/** A scripted Ollama server on 127.0.0.1 (a free port). */
export async function startScriptedOllama(init: { models?: ScriptedModel[] } = {}): Promise<ScriptedOllama> {
  let embed: (input: string) => number[] = bagOfLettersVector;
  const handler: Handler = async (req, res, recorded, server) => {
    const body = (recorded.body ?? {}) as Record<string, unknown>;
    const now = () => new Date().toISOString();
    const known = (name: unknown) => server.models.find((m) => m.name === name);
    if (req.method === 'GET' && recorded.path === '/api/tags') {
      json(res, 200, {
        models: server.models.map((m) => ({
          name: m.name,
          model: m.name,
          modified_at: now(),
          size: 1000,
          digest: 'sha256:0',
          details: {
            parent_model: '',
            format: 'gguf',
            family: 'x',
            families: ['x'],
            parameter_size: '1B',
            quantization_level: 'Q4',
          },
        })),
      });
      return;
    }
    if (req.method === 'POST' && recorded.path === '/api/show') {
      const model = known(body.model);
      if (!model) return json(res, 404, { error: `model '${String(body.model)}' not found` });
      json(res, 200, {
        license: '',
        modelfile: '',
        parameters: '',
        template: '',
        details: { format: 'gguf', family: 'x' },
        model_info: { 'general.context_length': model.contextLength ?? 8192 },
        capabilities: model.capabilities ?? ['completion'],
        modified_at: now(),
      });
      return;
    }
    if (req.method === 'POST' && recorded.path === '/api/embed') {
      const inputs = Array.isArray(body.input) ? (body.input as string[]) : [String(body.input)];
      if (!known(body.model)) return json(res, 404, { error: `model '${String(body.model)}' not found` });
      json(res, 200, {
        model: body.model,
        embeddings: inputs.map((i) => embed(i)),
        total_duration: 1,
        load_duration: 1,
        prompt_eval_count: inputs.length,
      });
      return;
    }
    if (req.method === 'POST' && recorded.path === '/api/chat') {
      if (!known(body.model))
        return json(res, 404, { error: `model '${String(body.model)}' not found, try pulling it first` });
      const reply = nextReply(server, res, body);
      if (!reply) return;
      const stream = body.stream !== false;
      const chunks = pieces(reply.text, reply.chunkChars ?? 7);
      if (!stream) {
        json(res, 200, {
          model: body.model,
          created_at: now(),
          message: {
            role: 'assistant',
            content: chunks.join(''),
            ...(reply.toolCalls ? { tool_calls: reply.toolCalls.map((c) => ({ function: c })) } : {}),
          },
          done: true,
          done_reason: 'stop',
        });
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
      const line = (obj: unknown) => res.write(`${JSON.stringify(obj)}\n`);
      for (const piece of chunks) {
        if (reply.delayMs) await sleep(reply.delayMs);
        if (recorded.aborted) return;
        line({
          model: body.model,
          created_at: now(),
          message: { role: 'assistant', content: piece },
          done: false,
        });
      }
      if (reply.hang) return hangUntilClosed(res, recorded);
      if (reply.toolCalls && reply.toolCalls.length > 0) {
        if (reply.delayMs) await sleep(reply.delayMs);
        line({
          model: body.model,
          created_at: now(),
          message: {
            role: 'assistant',
            content: '',
            tool_calls: reply.toolCalls.map((c) => ({ function: c })),
          },
          done: false,
        });
      }
      line({
        model: body.model,
        created_at: now(),
        message: { role: 'assistant', content: '' },
        done: true,
        done_reason: 'stop',
        total_duration: 1,
        load_duration: 1,
        prompt_eval_count: 10,
        prompt_eval_duration: 1,
        eval_count: chunks.length,
        eval_duration: 1,
      });
      res.end();
      return;
    }
    json(res, 404, { error: `no route ${req.method} ${recorded.path}` });
  };
  const base = await serve(handler, '/api/chat');
  base.models = init.models ?? [];
  return Object.defineProperty(base, 'embed', {
    get: () => embed,
    set: (fn: (input: string) => number[]) => {
      embed = fn;
    },
    enumerable: true,
  }) as ScriptedOllama;
}

/** A scripted OpenAI-compatible server (OpenRouter's API) on 127.0.0.1; its base URL is `url`. */
export async function startScriptedOpenRouter(
  init: { models?: ScriptedModel[] } = {},
): Promise<ScriptedOpenRouter> {
  let seq = 0;
  const handler: Handler = async (req, res, recorded, server) => {
    const body = (recorded.body ?? {}) as Record<string, unknown>;
    if (req.method === 'GET' && recorded.path === '/models') {
      json(res, 200, {
        data: server.models.map((m) => ({
          id: m.name,
          name: m.name,
          context_length: m.contextLength ?? 32768,
          architecture: {
            input_modalities: (m.capabilities ?? []).includes('vision') ? ['text', 'image'] : ['text'],
          },
          supported_parameters: (m.capabilities ?? []).includes('tools') ? ['tools', 'tool_choice'] : [],
        })),
      });
      return;
    }
    if (req.method === 'POST' && recorded.path === '/chat/completions') {
      if (!String(req.headers.authorization ?? '').startsWith('Bearer ')) {
        return json(res, 401, { error: { message: 'No auth credentials found', code: 401 } });
      }
      const reply = nextReply(server, res, body);
      if (!reply) return;
      const id = `gen-${++seq}`;
      const created = Math.floor(Date.now() / 1000);
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
      const send = (delta: Record<string, unknown>, finish: string | null = null) =>
        res.write(
          `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: body.model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`,
        );
      // OpenRouter sends comment lines while it waits for the model.
      res.write(': OPENROUTER PROCESSING\n\n');
      send({ role: 'assistant', content: '' });
      for (const piece of pieces(reply.text, reply.chunkChars ?? 7)) {
        if (reply.delayMs) await sleep(reply.delayMs);
        if (recorded.aborted) return;
        send({ content: piece });
      }
      if (reply.hang) return hangUntilClosed(res, recorded);
      const calls = reply.toolCalls ?? [];
      for (const [index, call] of calls.entries()) {
        send({
          tool_calls: [
            {
              index,
              id: `call_${seq}_${index}`,
              type: 'function',
              function: { name: call.name, arguments: '' },
            },
          ],
        });
        const args = JSON.stringify(call.arguments);
        const size = reply.chunkChars ?? 5;
        for (let i = 0; i < args.length; i += size) {
          if (reply.delayMs) await sleep(reply.delayMs);
          send({ tool_calls: [{ index, function: { arguments: args.slice(i, i + size) } }] });
        }
      }
      send({}, calls.length > 0 ? 'tool_calls' : 'stop');
      res.write('data: [DONE]\n\n');
      res.end();
      return;
    }
    json(res, 404, { error: { message: `no route ${req.method} ${recorded.path}` } });
  };
  const base = await serve(handler, '/chat/completions');
  base.models = init.models ?? [];
  return base;
}
