export * from './opened-file-check.ts';
export * from './path-error.ts';
export * from './resolve-inside-root.ts';
export * from './servable-name.ts';
export * from './validate-rel-path.ts';
