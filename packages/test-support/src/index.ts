export * from './apollo-server.ts';
export * from './fake-face-service.ts';
export * from './huge-canvas-gif.ts';
export * from './llm-servers.ts';
export * from './services.ts';
export * from './sms-server.ts';
export * from './unique-jpeg.ts';
