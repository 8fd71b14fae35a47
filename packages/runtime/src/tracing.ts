import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { Logger } from 'pino';

export interface Tracing {
  /** Flush what is buffered and stop exporting (bounded by the exporter's timeout). */
  shutdown(): Promise<void>;
}

/**
 * OpenTelemetry tracing, on only when an OTLP endpoint is configured
 * (`OTLP_OTLS_ENDPOINT`, e.g. `http://collector:4318`). Spans go to
 * `<endpoint>/v1/traces` as OTLP/HTTP JSON in batches; every export has a 5 s
 * timeout, so a dead collector costs dropped spans, never a hung request.
 * Code creates spans with `@opentelemetry/api` (`trace.getTracer(...)`), which
 * is a no-op when tracing is off.
 */
export function startTracing(opts: { endpoint: string; serviceName: string; logger?: Logger }): Tracing {
  const exporter = new OTLPTraceExporter({
    url: `${opts.endpoint.replace(/\/+$/, '')}/v1/traces`,
    timeoutMillis: 5_000,
  });
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: `lumen-${opts.serviceName}` }),
    spanProcessors: [
      new BatchSpanProcessor(exporter, { scheduledDelayMillis: 1_000, exportTimeoutMillis: 5_000 }),
    ],
  });
  provider.register();
  opts.logger?.info({ endpoint: opts.endpoint }, 'tracing to OTLP endpoint');
  return {
    async shutdown() {
      await provider
        .shutdown()
        .catch((err: unknown) => opts.logger?.warn({ err }, 'tracing shutdown failed'));
    },
  };
}
