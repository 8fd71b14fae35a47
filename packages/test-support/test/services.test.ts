import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { MissingServiceError, requireChromium, requireNats, requirePostgres } from '../src/index.ts';

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A TCP server that greets every connection with `greeting` (a fake NATS INFO line). */
const servers: net.Server[] = [];
async function greeter(greeting: string): Promise<number> {
  const server = net.createServer((socket) => socket.end(greeting));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}
afterAll(() => {
  for (const server of servers) server.close();
});

/** The error a check throws: a MissingServiceError whose stack is its message alone. */
async function failureOf(check: Promise<unknown>): Promise<MissingServiceError> {
  const err = await check.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MissingServiceError);
  const missing = err as MissingServiceError;
  expect(missing.stack).toBe(`MissingServiceError: ${missing.message}`);
  expect(missing.message).toContain('run `scripts/setup.sh test`');
  return missing;
}

describe('requireNats', () => {
  it('names NATS and the URL when nothing listens', async () => {
    const port = await closedPort();
    const err = await failureOf(requireNats(`nats://127.0.0.1:${port}`));
    expect(err.message).toMatch(
      new RegExp(`^NATS with JetStream at nats://127.0.0.1:${port} is not available: .*ECONNREFUSED`),
    );
  });

  it('says when the server runs without JetStream', async () => {
    const port = await greeter('INFO {"server_id":"x","version":"2.9.10","jetstream":false}\r\n');
    const err = await failureOf(requireNats(`nats://127.0.0.1:${port}`));
    expect(err.message).toContain('runs without JetStream');
  });

  it('says when what answers is not NATS', async () => {
    const port = await greeter('HTTP/1.1 400 Bad Request\r\n\r\n');
    expect((await failureOf(requireNats(`nats://127.0.0.1:${port}`))).message).toContain(
      'does not speak NATS',
    );
  });

  it('accepts a server that has JetStream on', async () => {
    const port = await greeter('INFO {"server_id":"x","jetstream":true}\r\n');
    await expect(requireNats(`nats://127.0.0.1:${port}`)).resolves.toBe(`nats://127.0.0.1:${port}`);
  });
});

describe('requirePostgres', () => {
  it('names PostgreSQL and the URL, without its password', async () => {
    const port = await closedPort();
    const err = await failureOf(requirePostgres(`postgres://someone:hunter2@127.0.0.1:${port}/db`));
    expect(err.message).toContain(
      `PostgreSQL at postgres://someone:***@127.0.0.1:${port}/db is not available`,
    );
    expect(err.message).not.toContain('hunter2');
  });
});

describe('requireChromium', () => {
  it('names Chromium, the path and CHROMIUM_PATH when it is not installed', async () => {
    const err = await failureOf(requireChromium('/nonexistent/chromium'));
    expect(err.message).toBe(
      'Chromium at /nonexistent/chromium (set CHROMIUM_PATH to use another) is not available: not installed; run `scripts/setup.sh test` (it installs and starts what the tests need)',
    );
  });
});
