export * from './orphan-gc-state.ts';
