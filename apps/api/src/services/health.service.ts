import type { Bus, BusStatus } from '@lumen/bus';
import type { Database } from '@lumen/db';

/** A database that does not answer within this long counts as down. */
export const DB_PING_TIMEOUT_MS = 2_000;

export interface HealthReport {
  /** `ok`: database and bus fine; `degraded`: something is down (HTTP 503 only when the database is). */
  status: 'ok' | 'degraded';
  /** `dialect`: which database this replica uses (DATABASE_URL), so a split deployment can check they agree. */
  db: { ok: boolean; dialect: 'sqlite' | 'postgres' };
  bus: BusStatus;
}

async function pingWithTimeout(database: Database, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([database.ping().catch(() => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export class HealthService {
  constructor(
    private readonly database: Database,
    private readonly bus: Bus,
    private readonly pingTimeoutMs = DB_PING_TIMEOUT_MS,
  ) {}

  async check(): Promise<HealthReport> {
    const dbOk = await pingWithTimeout(this.database, this.pingTimeoutMs);
    const bus = this.bus.status();
    return {
      status: dbOk && bus.connected ? 'ok' : 'degraded',
      db: { ok: dbOk, dialect: this.database.kind },
      bus: { transport: bus.transport, connected: bus.connected },
    };
  }
}
