export * from './hls-timeline.ts';
export * from './stream-plan.ts';
