import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { describe, expect, it } from 'vitest';

/**
 * The container image rules, checked on the files themselves (a container engine is not needed):
 * a multi-stage build, node (not pnpm) as the container's process, a non-root user, a health check,
 * one image whose command picks the service, and a .dockerignore that keeps dependencies, data,
 * secrets and .git out of the build context.
 */

const repoRoot = path.resolve(import.meta.dirname, '../..');
// A CommonJS module whose typings claim an ES default export: load it as what it is.
const ignore: typeof import('@balena/dockerignore').default = createRequire(import.meta.url)(
  '@balena/dockerignore',
);
const dockerfileText = fs.readFileSync(path.join(repoRoot, 'infra/Dockerfile'), 'utf8');
const dockerfile = DockerfileParser.parse(dockerfileText);
const stages = dockerfile.getFROMs().map((from) => from.getRange().start.line);

/** The instructions of stage `index` (in file order). */
function stage(index: number): Instruction[] {
  const start = stages[index] ?? Number.POSITIVE_INFINITY;
  const end = stages[index + 1] ?? Number.POSITIVE_INFINITY;
  return dockerfile.getInstructions().filter((i) => {
    const line = i.getRange().start.line;
    return line >= start && line < end;
  });
}

const finalStage = () => stage(stages.length - 1);
const named = (instructions: Instruction[], keyword: string) =>
  instructions.filter((i) => i.getKeyword() === keyword);

/** The JSON array of an exec-form instruction (`CMD ["a", "b"]`), or undefined for shell form. */
function execForm(instruction: Instruction | undefined): string[] | undefined {
  const text = instruction?.getArgumentsContent()?.trim() ?? '';
  if (!text.startsWith('[')) return undefined;
  return JSON.parse(text) as string[];
}

describe('infra/Dockerfile', () => {
  it('builds in stages: dependencies and compilers in the first, the runtime image last', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const build = stage(0);
    expect(build.map((i) => i.getTextContent()).join('\n')).toMatch(/pnpm install --frozen-lockfile --prod/);
    const runtime = finalStage()
      .map((i) => i.getTextContent())
      .join('\n');
    expect(runtime).not.toMatch(/\b(g\+\+|make|python3|build-essential)\b/);
    expect(runtime).not.toMatch(/npm install --global pnpm|pnpm install/);
    // The runtime stage takes the app from the build stage, not from the build context.
    const copies = named(finalStage(), 'COPY').map((i) => i.getTextContent());
    expect(copies.length).toBeGreaterThan(0);
    for (const copy of copies) expect(copy).toMatch(/--from=build\b/);
  });

  it('installs the media tools the services run in the runtime image', () => {
    const runtime = named(finalStage(), 'RUN')
      .map((i) => i.getTextContent())
      .join('\n');
    for (const pkg of ['ffmpeg', 'libimage-exiftool-perl', 'libheif-examples'])
      expect(runtime).toContain(pkg);
  });

  it('runs node itself as the container process (PID 1): exec form, no pnpm, npm or shell', () => {
    const entrypoint = execForm(named(finalStage(), 'ENTRYPOINT').at(-1));
    expect(entrypoint, 'ENTRYPOINT must be in exec form').toBeDefined();
    expect(entrypoint?.[0]).toBe('node');
    expect(entrypoint?.join(' ')).not.toMatch(/\b(pnpm|npm|sh|bash)\b/);
    const stopSignal = named(finalStage(), 'STOPSIGNAL').at(-1)?.getArgumentsContent();
    expect(stopSignal ?? 'SIGTERM').toBe('SIGTERM');
  });

  it('picks the service by its command: the default and every documented one exist', () => {
    const cmd = execForm(named(finalStage(), 'CMD').at(-1));
    expect(cmd).toEqual(['apps/standalone/src/main.ts']);
    const mentioned = [...dockerfileText.matchAll(/apps\/[a-z-]+\/src\/[a-z-]+\.ts/g)].map((m) => m[0]);
    expect(new Set(mentioned)).toEqual(
      new Set([
        'apps/standalone/src/main.ts',
        'apps/api/src/main.ts',
        'apps/watcher/src/main.ts',
        'apps/transcoder/src/main.ts',
        'apps/api/src/cli.ts',
      ]),
    );
    for (const file of mentioned) expect(fs.existsSync(path.join(repoRoot, file)), file).toBe(true);
  });

  it('runs as a user other than root', () => {
    const user = named(finalStage(), 'USER').at(-1)?.getArgumentsContent()?.trim();
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
  });

  it('has a HEALTHCHECK that runs a script that is in the image', () => {
    const healthcheck = named(finalStage(), 'HEALTHCHECK').at(-1);
    expect(healthcheck).toBeDefined();
    const text = healthcheck?.getTextContent() ?? '';
    const script = /\/app\/(\S+\.mjs)/.exec(text)?.[1];
    expect(script).toBe('infra/healthcheck.mjs');
    expect(fs.existsSync(path.join(repoRoot, script!))).toBe(true);
    expect(text).toMatch(/--interval=\d+s/);
  });
});

describe('.dockerignore', () => {
  const rules = ignore().add(fs.readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8'));

  it.each([
    'node_modules/vitest/package.json',
    'apps/api/node_modules/hono/package.json',
    '.git/HEAD',
    'data/lumen.db',
    'data/secret.key',
    'apps/standalone/data/secret.key',
    'secret.key',
    '.env',
    'apps/api/.env',
    '.env.production',
    'tls/server.key',
    'fixtures/corpus/photo/x.jpg',
  ])('keeps %s out of the image', (file) => {
    expect(rules.ignores(file)).toBe(true);
  });

  it('keeps everything the image needs: sources, manifests, lockfile, health check', () => {
    const needed = ['package.json', 'pnpm-lock.yaml', 'pnpm-workspace.yaml', 'infra/healthcheck.mjs'];
    for (const top of ['apps', 'packages']) {
      for (const pkg of fs.readdirSync(path.join(repoRoot, top))) {
        const dir = path.join(top, pkg);
        if (!fs.existsSync(path.join(repoRoot, dir, 'package.json'))) continue;
        needed.push(path.join(dir, 'package.json'));
        const src = path.join(repoRoot, dir, 'src');
        if (!fs.existsSync(src)) continue;
        for (const file of fs.readdirSync(src, { recursive: true }))
          needed.push(path.join(dir, 'src', String(file)));
      }
    }
    needed.push('bench/package.json', 'infra/package.json');
    expect(needed.length).toBeGreaterThan(100);
    expect(needed.filter((file) => rules.ignores(file))).toEqual([]);
  });
});
