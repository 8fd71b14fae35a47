export * from './decode-cost.ts';
export * from './weighted-semaphore.ts';
