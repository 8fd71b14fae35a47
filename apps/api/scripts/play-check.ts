/**
 * How fast a video starts and seeks in Chromium + hls.js, against a running api (for example
 * `pnpm start`): logs in, opens the video's HLS stream as a web page would, and prints the time from
 * the request to playback, and from a seek to playback at the new position.
 *
 *   pnpm --filter @lumen/api play-check -- --url http://127.0.0.1:8088 --user admin \
 *     --password <password> --path movies/film.mkv [--library main] [--seek 480] [--chromium /usr/bin/chromium]
 *
 * The page is served at the api's own origin (intercepted by the browser, never sent to the api), so
 * no CORS setting is needed. hls.js comes from node_modules; nothing is downloaded.
 */
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { z } from 'zod';

const argsSchema = z.object({
  url: z.string().url('--url must be the api URL, e.g. http://127.0.0.1:8088'),
  user: z.string().min(1, '--user is required'),
  password: z.string().min(1, '--password is required'),
  path: z.string().min(1, '--path (the video, relative to its library) is required'),
  library: z.string().optional(),
  seek: z.coerce.number().nonnegative('--seek must be seconds >= 0').optional(),
  chromium: z.string().default('/usr/bin/chromium'),
  timeout: z.coerce.number().positive('--timeout must be seconds > 0').default(60),
});

const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>lumen play check</title></head>
<body><video id="v" muted playsinline></video><script src="/__play-check/hls.js"></script><script>
  window.errors = [];
  window.marks = [];
  const mark = (what) => window.marks.push([what, Math.round(performance.now())]);
  window.play = (src, token) => {
    const video = document.getElementById('v');
    mark('play');
    for (const e of ['seeking', 'seeked', 'playing', 'waiting']) video.addEventListener(e, () => mark(e));
    const hls = new Hls({
      xhrSetup(xhr, url) {
        if (url.includes('/video/stream')) xhr.setRequestHeader('Authorization', 'Bearer ' + token);
      },
    });
    hls.on(Hls.Events.ERROR, (_e, d) => {
      mark('error ' + d.details);
      window.errors.push({ type: d.type, details: d.details, fatal: d.fatal });
    });
    hls.on(Hls.Events.MANIFEST_PARSED, () => mark('manifest parsed'));
    hls.on(Hls.Events.FRAG_LOADED, (_e, d) => mark('segment ' + d.frag.sn + ' of level ' + d.frag.level + ' loaded'));
    hls.on(Hls.Events.FRAG_BUFFERED, (_e, d) => mark('segment ' + d.frag.sn + ' buffered'));
    hls.on(Hls.Events.MANIFEST_PARSED, () => video.play().catch((err) => window.errors.push({ details: String(err), fatal: true })));
    hls.loadSource(src);
    hls.attachMedia(video);
  };
</script></body></html>`;

function fail(message: string): never {
  console.error(`play-check: ${message}`);
  process.exit(2);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2).filter((a) => a !== '--'),
    options: {
      url: { type: 'string' },
      user: { type: 'string' },
      password: { type: 'string' },
      path: { type: 'string' },
      library: { type: 'string' },
      seek: { type: 'string' },
      chromium: { type: 'string' },
      timeout: { type: 'string' },
    },
  });
  const parsed = argsSchema.safeParse(values);
  if (!parsed.success) fail(parsed.error.issues.map((i) => i.message).join('; '));
  const opts = parsed.data;
  const api = opts.url.replace(/\/$/, '');

  const login = await fetch(`${api}/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: opts.user, password: opts.password }),
    signal: AbortSignal.timeout(10_000),
  });
  if (!login.ok) fail(`login as ${opts.user} failed: ${login.status} ${await login.text()}`);
  const { token } = (await login.json()) as { token: string };

  const query = new URLSearchParams({ path: opts.path, ...(opts.library ? { library: opts.library } : {}) });
  const streamUrl = `${api}/video/stream?${query}`;
  const hlsJs = await fs.readFile(createRequire(import.meta.url).resolve('hls.js'));
  const browser = await chromium.launch({
    executablePath: opts.chromium,
    args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required'],
    timeout: 30_000,
  });
  try {
    const page = await browser.newPage();
    await page.route(`${api}/__play-check/**`, (route) => {
      const isScript = route.request().url().endsWith('/hls.js');
      return route.fulfill(
        isScript
          ? { contentType: 'text/javascript', body: hlsJs }
          : { contentType: 'text/html; charset=utf-8', body: PAGE },
      );
    });
    await page.goto(`${api}/__play-check/`);
    const waitMs = opts.timeout * 1000;
    const t0 = performance.now();
    await page.evaluate(`play(${JSON.stringify(streamUrl)}, ${JSON.stringify(token)})`);
    await page.waitForFunction(
      "(() => { const v = document.getElementById('v'); return v.currentTime > 0.1 && !v.paused; })()",
      null,
      {
        timeout: waitMs,
      },
    );
    const startMs = performance.now() - t0;
    const duration = Number(await page.evaluate("document.getElementById('v').duration"));
    const result: Record<string, unknown> = {
      path: opts.path,
      durationSec: duration,
      startMs: Math.round(startMs),
    };
    if (opts.seek !== undefined) {
      if (opts.seek >= duration)
        fail(`--seek ${opts.seek} is past the end of the video (${duration.toFixed(1)} s)`);
      const t1 = performance.now();
      await page.evaluate(`document.getElementById('v').currentTime = ${opts.seek}`);
      await page.waitForFunction(
        `(() => { const v = document.getElementById('v'); return !v.seeking && !v.paused && v.currentTime > ${opts.seek + 0.1}; })()`,
        null,
        { timeout: waitMs },
      );
      result.seekToSec = opts.seek;
      result.seekMs = Math.round(performance.now() - t1);
    }
    result.size = await page.evaluate(
      "(() => { const v = document.getElementById('v'); return v.videoWidth + 'x' + v.videoHeight; })()",
    );
    result.hlsErrors = await page.evaluate('window.errors');
    // What happened when, ms since play() (the seek's events follow the start's).
    const marks = (await page.evaluate('window.marks')) as [string, number][];
    const origin = marks[0]?.[1] ?? 0;
    result.timeline = marks.map(([what, at]) => `${at - origin} ${what}`);
    console.log(JSON.stringify(result, null, 2));
  } finally {
    await browser.close();
  }
}

main().catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)));
