export * from './backref-refresh.ts';
export * from './maintenance-metrics.ts';
export * from './maintenance-pass.ts';
export * from './maintenance-pipeline.ts';
export * from './missing-file-scan.ts';
export * from './orphan-gc.ts';
