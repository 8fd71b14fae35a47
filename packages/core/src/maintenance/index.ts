export * from './missing-files.ts';
export * from './orphan-gc-state.ts';
