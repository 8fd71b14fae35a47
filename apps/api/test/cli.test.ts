import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi } from './test-api.ts';

const apiDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tsx = path.resolve(apiDir, '../../node_modules/.bin/tsx');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `tsx src/cli.ts ...args` as a real process, stdin piped (not a TTY). */
function cli(args: string[], opts: { env?: Record<string, string>; stdin?: string } = {}): Promise<Run> {
  const env: Record<string, string | undefined> = { ...process.env, ...opts.env };
  if (!opts.env?.LUMEN_PASSWORD) delete env.LUMEN_PASSWORD;
  return new Promise((resolve, reject) => {
    const child = spawn(tsx, ['src/cli.ts', ...args], { cwd: apiDir, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.stdin ?? '');
  });
}

describe('cli user add|passwd|list', () => {
  let dataDir: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'lumen-cli-'));
    env = { DATA_DIR: dataDir };
  });
  afterAll(() => fs.rm(dataDir, { recursive: true, force: true }));

  it('adds a user with the password from stdin', async () => {
    const run = await cli(['user', 'add', 'alice', '--password-stdin'], { env, stdin: 'first password\n' });
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/^created user "alice" \(id \d+\)$/m);
    expect(run.code).toBe(0);
  });

  it('refuses a duplicate user with exit code 1, naming it', async () => {
    const run = await cli(['user', 'add', 'alice', '--password-stdin'], { env, stdin: 'other password\n' });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('user "alice" already exists');
  });

  it('adds an admin with the password from LUMEN_PASSWORD', async () => {
    const run = await cli(['user', 'add', 'bob', '--admin'], {
      env: { ...env, LUMEN_PASSWORD: 'bobs password' },
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('created admin user "bob"');
  });

  it('refuses a short password and a bad name, naming the problem', async () => {
    const short = await cli(['user', 'add', 'carol', '--password-stdin'], { env, stdin: 'short\n' });
    expect(short.code).toBe(1);
    expect(short.stderr).toContain('password too short: 5 characters, at least 8');
    const badName = await cli(['user', 'add', 'no spaces please', '--password-stdin'], {
      env,
      stdin: 'longenough\n',
    });
    expect(badName.code).toBe(1);
    expect(badName.stderr).toContain('invalid username "no spaces please"');
  });

  it('refuses to run without a password source when stdin is not a terminal', async () => {
    const run = await cli(['user', 'add', 'dave'], { env });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('no password given');
  });

  it('lists users', async () => {
    const run = await cli(['user', 'list'], { env });
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+USERNAME\s+ADMIN\s+CREATED$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(1, 3))).toEqual([
      ['alice', 'no'],
      ['bob', 'yes'],
    ]);
  });

  it('refuses passwd for an unknown user', async () => {
    const run = await cli(['user', 'passwd', 'nobody', '--password-stdin'], { env, stdin: 'whatever123\n' });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('unknown user "nobody"');
  });

  it('changes a password; the api then accepts the new one only', async () => {
    const run = await cli(['user', 'passwd', 'alice', '--password-stdin'], {
      env,
      stdin: 'second password\n',
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('changed the password of "alice"');

    const t = await startTestApi({ DATA_DIR: dataDir });
    try {
      expect((await t.login('alice', 'second password')).status).toBe(200);
      expect((await t.login('alice', 'first password')).status).toBe(401);
      expect((await t.login('bob', 'bobs password')).status).toBe(200);
    } finally {
      await t.stop();
    }
  });

  it('passwd revokes the tokens a running api issued, at once', async () => {
    const t = await startTestApi({ DATA_DIR: dataDir });
    try {
      const token = await t.tokenFor('bob', 'bobs password');
      const me = () => fetch(`${t.url}/me`, { headers: { Authorization: `Bearer ${token}` } });
      expect((await me()).status).toBe(200);
      const run = await cli(['user', 'passwd', 'bob', '--password-stdin'], {
        env,
        stdin: 'bobs new password\n',
      });
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('earlier tokens are revoked');
      const refused = await me();
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toContain('error="invalid_token"');
      expect((await t.login('bob', 'bobs new password')).status).toBe(200);
    } finally {
      await t.stop();
    }
  });

  it('lockout lift reaches a running api: the locked user signs in again', async () => {
    const t = await startTestApi({ DATA_DIR: dataDir, LOGIN_MAX_FAILURES_PER_MINUTE: '2' });
    try {
      for (let i = 0; i < 2; i++) expect((await t.login('alice', `guess ${i}`)).status).toBe(401);
      expect((await t.login('alice', 'second password')).status).toBe(429);
      const run = await cli(['lockout', 'lift', '--user', 'alice'], { env });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('lifted the login lockout of user "alice" on every address');
      expect((await t.login('alice', 'second password')).status).toBe(200);

      for (let i = 0; i < 2; i++) expect((await t.login('alice', `guess ${i}`)).status).toBe(401);
      const byAddress = await cli(['lockout', 'lift', '--address', '127.0.0.1'], { env });
      expect(byAddress.code).toBe(0);
      expect(byAddress.stdout).toContain('every user at 127.0.0.1');
      expect((await t.login('alice', 'second password')).status).toBe(200);
    } finally {
      await t.stop();
    }
  });

  it.each([
    [['lockout', 'lift'], '"lockout lift" needs --user <name>, --address <ip> or both'],
    [['lockout', 'lift', '--address', 'example.org'], 'is not an IPv4 or IPv6 address'],
  ])('answers lockout usage error %j with exit code 2', async (args, message) => {
    const run = await cli(args, { env });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
  });

  it.each([
    [['user', 'frobnicate'], 'unknown user command "frobnicate"'],
    [['user', 'add'], '"user add" needs a user name'],
    [['group', 'add', 'x'], 'unknown command "group"'],
    [['user', 'add', 'x', '--sudo'], "Unknown option '--sudo'"],
    [['user', 'list', 'extra'], '"user list" takes no argument'],
  ])('answers usage error %j with exit code 2', async (args, message) => {
    const run = await cli(args, { env });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stderr).toContain('Usage:');
  });

  it('stops with exit code 1 and names a bad config variable', async () => {
    const run = await cli(['user', 'list'], { env: { ...env, LOG_LEVEL: 'loud' } });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('LOG_LEVEL');
  });
});
