export * from './hls-timeline.ts';
export * from './stream-plan.ts';
export * from './video-requests.ts';
