export * from './chat-events.ts';
export * from './chat-message.ts';
export * from './context-trim.ts';
export * from './insights-requests.schema.ts';
export * from './tool-call-fragments.ts';
