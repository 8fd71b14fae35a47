export * from './classify-file.ts';
export * from './detect-from-magic.ts';
export * from './media-formats.ts';
export * from './scriptable-content.ts';
