export * from './with-timeout.ts';
