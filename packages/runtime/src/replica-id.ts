import os from 'node:os';

/** This process's name among replicas when REPLICA_ID is not set: `<host name>-<pid>`. */
export function defaultReplicaId(): string {
  const host =
    os
      .hostname()
      .replace(/[^A-Za-z0-9_.:-]/g, '-')
      .slice(0, 100) || 'host';
  return `${host}-${process.pid}`;
}
