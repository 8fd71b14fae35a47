export * from './logger.ts';
export * from './private-files.ts';
export * from './replica-id.ts';
export * from './secret-key.ts';
export * from './service-http.ts';
export * from './service-main.ts';
export * from './tracing.ts';
