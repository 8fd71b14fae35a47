import { Agent, fetch as undiciFetch } from 'undici';

/** How long an LLM call may wait: to connect, and for each sign of life (headers, then each chunk). */
export interface LlmTimeouts {
  connectMs: number;
  /** Longest silence: until the response headers, and between two chunks of a streamed body. */
  requestMs: number;
}

/**
 * A `fetch` for the LLM clients with our timeouts instead of Node's defaults (300 s headers and body
 * timeouts, no connect timeout of ours). Every request also stops when `signal` aborts (the client
 * went away). Streamed responses may run as long as chunks keep coming.
 */
export function llmFetch(timeouts: LlmTimeouts, signal?: AbortSignal): typeof fetch {
  const agent = llmAgent(timeouts);
  return ((input: string | URL | Request, init?: RequestInit) => {
    const signals = [init?.signal, signal].filter((s): s is AbortSignal => s != null);
    const merged = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
    return undiciFetch(input as Parameters<typeof undiciFetch>[0], {
      ...(init as Parameters<typeof undiciFetch>[1]),
      ...(merged ? { signal: merged } : {}),
      dispatcher: agent,
    });
  }) as unknown as typeof fetch;
}

const agents = new Map<string, Agent>();

/** One connection pool per timeout pair (kept for the life of the process). */
function llmAgent(timeouts: LlmTimeouts): Agent {
  const key = `${timeouts.connectMs}/${timeouts.requestMs}`;
  let agent = agents.get(key);
  if (!agent) {
    agent = new Agent({
      connect: { timeout: timeouts.connectMs },
      headersTimeout: timeouts.requestMs,
      bodyTimeout: timeouts.requestMs,
    });
    agents.set(key, agent);
  }
  return agent;
}
