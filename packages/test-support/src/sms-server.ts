import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SmsMessageFixture {
  contact: string;
  timestamp: string;
  direction: 'in' | 'out';
  body: string;
}

export interface ScriptedSms {
  url: string;
  /** Messages by day (`YYYY-MM-DD`); edit freely between requests. */
  days: Map<string, SmsMessageFixture[]>;
  /** The days asked for, in order. */
  asked: string[];
  close(): Promise<void>;
}

/**
 * A small SMS API as Lumen reads it: `GET /messages?date=YYYY-MM-DD` with `Authorization: Bearer
 * <token>` answers `{ messages: [{ contact, timestamp, direction, body }] }` (401 without the token).
 */
export async function startScriptedSms(
  token: string,
  days: Record<string, SmsMessageFixture[]> = {},
): Promise<ScriptedSms> {
  const state = new Map(Object.entries(days));
  const asked: string[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.headers.authorization !== `Bearer ${token}`) {
      res.writeHead(401, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: 'bad token' }));
      return;
    }
    if (req.method !== 'GET' || url.pathname !== '/messages') {
      res.writeHead(404).end();
      return;
    }
    const date = url.searchParams.get('date') ?? '';
    asked.push(date);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ messages: state.get(date) ?? [] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    days: state,
    asked,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
