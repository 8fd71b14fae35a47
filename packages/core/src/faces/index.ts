export * from './auto-bind.ts';
export * from './binary-codes.ts';
export * from './embedding.ts';
export * from './face-box.ts';
export * from './face-clustering.ts';
export * from './face-contract.ts';
export * from './face-thresholds.ts';
