import type { ToolCall } from './chat-message.ts';

/**
 * One tool-call delta of an OpenAI-style streamed chat completion: the first fragment of a call
 * carries `index`, `id` and the function name; later ones carry `index` and a piece of the JSON
 * arguments. Fragments of several calls may interleave.
 */
export interface ToolCallDelta {
  index: number;
  id?: string | null | undefined;
  type?: string | null | undefined;
  function?: { name?: string | null | undefined; arguments?: string | null | undefined } | null | undefined;
}

export interface AssembledToolCalls {
  calls: ToolCall[];
  /** Calls whose arguments are not a JSON object once put together (the call is left out). */
  errors: { index: number; name: string; message: string }[];
}

interface Partial {
  id: string;
  name: string;
  args: string;
}

/**
 * Puts streamed tool-call fragments back together, by index, in the order the indexes first
 * appeared. Pure: feed every delta with `push`, then `finish`.
 */
export class ToolCallAssembler {
  readonly #byIndex = new Map<number, Partial>();

  push(delta: ToolCallDelta): void {
    let call = this.#byIndex.get(delta.index);
    if (!call) {
      call = { id: '', name: '', args: '' };
      this.#byIndex.set(delta.index, call);
    }
    if (delta.id) call.id = delta.id;
    if (delta.function?.name) call.name += delta.function.name;
    if (delta.function?.arguments) call.args += delta.function.arguments;
  }

  get size(): number {
    return this.#byIndex.size;
  }

  finish(): AssembledToolCalls {
    const out: AssembledToolCalls = { calls: [], errors: [] };
    const indexes = [...this.#byIndex.keys()].sort((a, b) => a - b);
    for (const index of indexes) {
      const call = this.#byIndex.get(index)!;
      const id = call.id || `call_${index}`;
      const text = call.args.trim();
      if (text === '') {
        out.calls.push({ id, name: call.name, arguments: {} });
        continue;
      }
      try {
        const parsed: unknown = JSON.parse(text);
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
          out.errors.push({ index, name: call.name, message: 'arguments are not a JSON object' });
          continue;
        }
        out.calls.push({ id, name: call.name, arguments: parsed as Record<string, unknown> });
      } catch (err) {
        out.errors.push({
          index,
          name: call.name,
          message: `arguments are not valid JSON (${(err as Error).message})`,
        });
      }
    }
    return out;
  }
}

/** All at once: the calls a list of deltas makes. */
export function assembleToolCalls(deltas: readonly ToolCallDelta[]): AssembledToolCalls {
  const assembler = new ToolCallAssembler();
  for (const delta of deltas) assembler.push(delta);
  return assembler.finish();
}
