export { LIBRARY_MARKER_FILE } from './library/library-probe.ts';
export * from './start.ts';
