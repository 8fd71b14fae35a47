export * from './sample-library.ts';
export * from './standalone.ts';
