import type { Config, InsightBackendName } from '@lumen/core';
import { ProblemError } from '../../http/problem.ts';
import { type ChatBackend, OllamaBackend, type OllamaEndpoint, OpenRouterBackend } from './llm-backends.ts';
import { InsightsNotConfiguredError, LlmResponseError, LlmUnavailableError } from './llm-errors.ts';

export const OLLAMA_URL_SETTING = 'OLLAMA_PRIMARY_URL (or OLLAMA_URL)';
export const ANY_BACKEND_SETTING = `${OLLAMA_URL_SETTING} or OPENROUTER_API_KEY`;

/**
 * The configured backends and the rules that pick one (SPEC 7, hybrid): chat and tool calls go to
 * OpenRouter when it is configured (or asked for), to Ollama otherwise; vision and embeddings always
 * stay on Ollama.
 */
export class InsightBackends {
  readonly ollama: OllamaBackend | undefined;
  readonly openrouter: OpenRouterBackend | undefined;
  readonly numCtx: number;

  constructor(config: Config) {
    const env = config.env;
    const timeouts = {
      connectMs: env.OLLAMA_CONNECT_TIMEOUT_SECONDS * 1000,
      requestMs: env.OLLAMA_REQUEST_TIMEOUT_SECONDS * 1000,
    };
    this.numCtx = env.OLLAMA_NUM_CTX;
    const endpoints: OllamaEndpoint[] = [];
    if (config.ollama.primaryUrl)
      endpoints.push({ role: 'primary', url: config.ollama.primaryUrl, model: config.ollama.primaryModel });
    if (config.ollama.fallbackUrl) {
      endpoints.push({
        role: 'fallback',
        url: config.ollama.fallbackUrl,
        model: config.ollama.fallbackModel ?? config.ollama.primaryModel,
      });
    }
    this.ollama = endpoints.length > 0 ? new OllamaBackend(endpoints, timeouts, this.numCtx) : undefined;
    this.openrouter = config.openrouter.apiKey
      ? new OpenRouterBackend(
          {
            apiKey: config.openrouter.apiKey,
            baseUrl: env.OPENROUTER_BASE_URL,
            defaultModel: config.openrouter.defaultModel,
            allowedModels: env.OPENROUTER_ALLOWED_MODELS,
            referer: env.HTTP_REFERER,
            title: env.APP_TITLE,
          },
          timeouts,
        )
      : undefined;
  }

  get configured(): boolean {
    return this.ollama !== undefined || this.openrouter !== undefined;
  }

  /** 503 naming the missing setting unless some backend is configured. */
  requireAny(): void {
    if (!this.configured) throw new InsightsNotConfiguredError(ANY_BACKEND_SETTING, 'an LLM backend');
  }

  requireOllama(): OllamaBackend {
    if (!this.ollama) throw new InsightsNotConfiguredError(OLLAMA_URL_SETTING, 'Ollama');
    return this.ollama;
  }

  requireOpenRouter(): OpenRouterBackend {
    if (!this.openrouter) throw new InsightsNotConfiguredError('OPENROUTER_API_KEY', 'OpenRouter');
    return this.openrouter;
  }

  /**
   * The chat backend for a request: the one asked for, else the one the insight was written with
   * (while it is still configured), else OpenRouter when configured, else Ollama. A model outside
   * OPENROUTER_ALLOWED_MODELS is a 400.
   */
  chatBackend(
    requested: InsightBackendName | undefined,
    previous?: string | null,
    model?: string,
  ): ChatBackend {
    this.requireAny();
    let name: InsightBackendName;
    if (requested) name = requested;
    else if (previous === 'ollama' && this.ollama) name = 'ollama';
    else if (previous === 'openrouter' && this.openrouter) name = 'openrouter';
    else name = this.openrouter ? 'openrouter' : 'ollama';
    if (name === 'ollama') return this.requireOllama();
    const openrouter = this.requireOpenRouter();
    if (model !== undefined && !openrouter.isAllowed(model)) {
      const message = `model "${model}" is not in OPENROUTER_ALLOWED_MODELS (${openrouter.settings.allowedModels.join(', ')})`;
      throw new ProblemError('validation', message, { errors: [{ in: 'body', name: 'model', message }] });
    }
    return openrouter;
  }
}

/** The problem a backend error is answered with (others pass through). */
export function insightsProblem(err: unknown): unknown {
  if (err instanceof InsightsNotConfiguredError)
    return new ProblemError('insights-not-configured', err.message);
  if (err instanceof LlmUnavailableError) {
    return new ProblemError('llm-unavailable', err.message, { headers: { 'Retry-After': '30' } });
  }
  if (err instanceof LlmResponseError) return new ProblemError('llm-error', err.message);
  return err;
}
