export * from './diff-directory.ts';
export * from './directory-changed.ts';
export * from './scan-rules.ts';
export * from './scan-schedule.ts';
