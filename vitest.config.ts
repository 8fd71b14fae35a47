import { defineConfig } from 'vitest/config';

// `extends: true`: each project inherits the root options below (timeouts), which inline
// projects otherwise do not.
const project = (name: string, dir: string, extra: Record<string, unknown> = {}) => ({
  extends: true as const,
  test: { name, root: dir, include: ['test/**/*.test.ts', 'src/**/*.test.ts'], ...extra },
});

export default defineConfig({
  test: {
    reporters: ['default', './vitest.summary-reporter.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      project('@lumen/core', './packages/core'),
      project('@lumen/db', './packages/db'),
      project('@lumen/bus', './packages/bus'),
      project('@lumen/media', './packages/media'),
      project('@lumen/video', './packages/video'),
      project('@lumen/api', './apps/api'),
      project('@lumen/watcher', './apps/watcher'),
      project('@lumen/transcoder', './apps/transcoder'),
      project('@lumen/standalone', './apps/standalone'),
      project('@lumen/face-inference', './apps/face-inference'),
      project('@lumen/runtime', './packages/runtime'),
      project('@lumen/infra', './infra'),
      project('@lumen/test-support', './packages/test-support'),
      project('@lumen/faces', './packages/faces'),
    ],
  },
});
