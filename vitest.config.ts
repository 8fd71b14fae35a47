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
      // The core api end-to-end files again, each api over a fresh PostgreSQL database (see
      // startTestApi in apps/api/test/test-api.ts). Not login.test.ts: its ~18 s are bcrypt and
      // the in-process failure counter; its one table (login lockout lifts) is tested on both
      // engines in packages/db (auth-hardening.test.ts).
      project('@lumen/api (postgres)', './apps/api', {
        env: { LUMEN_TEST_DATABASE: 'postgres' },
        include: [
          'test/photos.test.ts',
          'test/tags-favorites.test.ts',
          'test/memories.test.ts',
          'test/libraries.test.ts',
          'test/auth.test.ts',
          'test/upload.test.ts',
          'test/images.test.ts',
          'test/test-api.test.ts',
        ],
      }),
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
