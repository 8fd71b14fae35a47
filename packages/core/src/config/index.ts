export * from './config.schema.ts';
export * from './config.ts';
export * from './dotenv.ts';
export * from './load-config.ts';
