export * from './llm-servers.ts';
export * from './services.ts';
export * from './unique-jpeg.ts';
