import { type MsgHdrs, headers as natsHeaders } from '@nats-io/nats-core';
import {
  context,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  trace,
} from '@opentelemetry/api';

/**
 * OpenTelemetry context across NATS (issue 15): the sender puts the active context in the message
 * headers (W3C `traceparent`, `tracestate`), the receiver runs its handler in a span whose parent
 * is that context, so one trace shows api -> transcoder. When tracing is off (no OTLP endpoint, so
 * no propagator or tracer registered) nothing is added to messages and the spans are no-ops.
 */

/** Headers carrying the active trace context, or undefined when there is none to carry. */
export function traceHeaders(): MsgHdrs | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  const entries = Object.entries(carrier);
  if (entries.length === 0) return undefined;
  const out = natsHeaders();
  for (const [key, value] of entries) out.set(key, value);
  return out;
}

const headerGetter: TextMapGetter<MsgHdrs | undefined> = {
  keys: (carrier) => (carrier ? carrier.keys() : []),
  get: (carrier, key) => {
    const value = carrier?.get(key);
    return value ? value : undefined;
  },
};

/**
 * Run `fn` in a span named `name` (CONSUMER for events and jobs, SERVER for requests), the child of
 * the context carried in `headers` (a root span when there is none). The span records a thrown
 * error and ends when `fn` settles.
 */
export function inRemoteSpan<R>(
  name: string,
  kind: 'consumer' | 'server',
  headers: MsgHdrs | undefined,
  attributes: Record<string, string | number>,
  fn: () => Promise<R>,
): Promise<R> {
  const parent = propagation.extract(context.active(), headers, headerGetter);
  return trace
    .getTracer('lumen-bus')
    .startActiveSpan(
      name,
      { kind: kind === 'server' ? SpanKind.SERVER : SpanKind.CONSUMER, attributes },
      parent,
      async (span: Span) => {
        try {
          return await fn();
        } catch (err) {
          span.setStatus({
            code: SpanStatusCode.ERROR,
            message: err instanceof Error ? err.message : String(err),
          });
          throw err;
        } finally {
          span.end();
        }
      },
    );
}
