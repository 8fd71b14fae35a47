// @ts-check
/**
 * The health check of every Lumen container (the Dockerfile's HEALTHCHECK, compose, Kubernetes exec
 * probes): exit 0 when healthy, 1 with a one-line reason when not. Plain JavaScript with node's
 * built-ins only, so it starts fast and needs no loader.
 *
 *   node infra/healthcheck.mjs [api|watcher|transcoder|standalone|face-inference]
 *
 * Without an argument the service is read from PID 1's command line (the image's command, e.g.
 * `node --import tsx apps/api/src/main.ts`, picks the service).
 * - api, standalone: `GET /health` on BIND_URL's port (127.0.0.1) answers 200 within 4 s;
 * - face-inference: `GET /healthz` on FACE_INFERENCE_PORT (default 8090) answers 200 (503 while
 *   its model loads: compose's start_period covers that);
 * - watcher, transcoder, standalone, face-inference: the heartbeat file the service touches every 10 s
 *   (`<tmp>/lumen-<name>.alive`, see packages/runtime/src/service-main.ts) is younger than 60 s,
 *   so a hung event loop is caught too.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const SERVICES = ['api', 'watcher', 'transcoder', 'standalone', 'face-inference'];
const HEARTBEAT_MAX_AGE_MS = 60_000;
const HTTP_TIMEOUT_MS = 4_000;

function serviceFromPid1() {
  try {
    const cmdline = fs.readFileSync('/proc/1/cmdline', 'utf8').split('\0');
    for (const arg of cmdline) {
      const m = /apps\/([a-z-]+)\/src\/main\.ts$/.exec(arg);
      if (m?.[1] && SERVICES.includes(m[1])) return m[1];
    }
  } catch {
    // not Linux, or no /proc: fall through
  }
  return undefined;
}

/** @param {string} reason */
function unhealthy(reason) {
  process.stderr.write(`unhealthy: ${reason}\n`);
  process.exit(1);
}

/** @param {string} name the name the service's heartbeat file carries */
function checkHeartbeat(name) {
  const file = path.join(os.tmpdir(), `lumen-${name}.alive`);
  let ageMs;
  try {
    ageMs = Date.now() - fs.statSync(file).mtimeMs;
  } catch {
    unhealthy(`no heartbeat file ${file}`);
  }
  if (ageMs > HEARTBEAT_MAX_AGE_MS) unhealthy(`heartbeat ${file} is ${Math.round(ageMs / 1000)} s old`);
}

/** @param {string} port @param {string} route */
async function checkHttp(port, route) {
  const url = `http://127.0.0.1:${port}${route}`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
    if (res.status !== 200) unhealthy(`${url} answered ${res.status}`);
  } catch (err) {
    unhealthy(`${url}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

const service = process.argv[2] ?? serviceFromPid1();
if (!service || !SERVICES.includes(service)) {
  unhealthy(`which service? pass one of ${SERVICES.join(', ')} (PID 1 names none)`);
}
if (service === 'api' || service === 'standalone') {
  const bind = process.env.BIND_URL || '0.0.0.0:8088';
  await checkHttp(bind.slice(bind.lastIndexOf(':') + 1) || '8088', '/health');
}
if (service === 'face-inference') await checkHttp(process.env.FACE_INFERENCE_PORT || '8090', '/healthz');
if (service !== 'api') checkHeartbeat(service === 'standalone' ? 'lumen' : String(service));
