export * from './huge-canvas-gif.ts';
export * from './services.ts';
export * from './unique-jpeg.ts';
