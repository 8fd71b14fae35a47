export * from './bus-contracts/index.ts';
export * from './config/index.ts';
export * from './maintenance/index.ts';
export * from './media-types/index.ts';
export * from './paths/index.ts';
export * from './photos/index.ts';
export * from './scan/index.ts';
export * from './video/index.ts';
