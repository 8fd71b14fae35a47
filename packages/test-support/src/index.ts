export * from './services.ts';
export * from './unique-jpeg.ts';
