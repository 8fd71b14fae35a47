export * from './orphan-gc-state.ts';
export * from './missing-files.ts';
