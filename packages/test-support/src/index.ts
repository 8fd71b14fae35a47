export * from './fake-face-service.ts';
export * from './services.ts';
export * from './unique-jpeg.ts';
