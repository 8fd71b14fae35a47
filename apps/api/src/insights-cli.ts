/**
 * AI insights from the command line:
 *
 *   pnpm --filter @lumen/api insights summaries --from 2024-01-01 --to 2024-01-31
 *
 * Summarises each day's conversations from the SMS API (SMS_API_URL, SMS_API_TOKEN) per contact,
 * embeds each summary with OLLAMA_EMBED_MODEL and stores both. Run it again (or after a kill) and
 * it continues where it stopped: what is stored is skipped. Progress is logged per day.
 * Exit codes: 0 done, 1 failed, 2 usage error.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '@lumen/core';
import { openDatabase } from '@lumen/db';
import pino from 'pino';
import { conversationSummaries } from './routes/insight-feature.ts';
import { InsightBackends } from './services/insights/insight-backends.ts';

const USAGE = 'Usage: insights summaries --from YYYY-MM-DD [--to YYYY-MM-DD]   (--to defaults to --from)';
const DAY = /^\d{4}-\d{2}-\d{2}$/;

async function main(argv: string[]): Promise<number> {
  let values: { from?: string | undefined; to?: string | undefined };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: { from: { type: 'string' }, to: { type: 'string' } },
      allowPositionals: true,
    }));
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const from = values.from;
  const to = values.to ?? from;
  if (
    positionals[0] !== 'summaries' ||
    !from ||
    !to ||
    !DAY.test(from) ||
    !DAY.test(to) ||
    Number.isNaN(Date.parse(from)) ||
    Number.isNaN(Date.parse(to)) ||
    to < from
  ) {
    console.error(USAGE);
    return 2;
  }
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 1;
    }
    throw err;
  }
  const logger = pino({ level: config.logLevel });
  const database = await openDatabase(config.database);
  const controller = new AbortController();
  const stop = () => controller.abort(new Error('interrupted'));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const service = conversationSummaries({ config, database }, new InsightBackends(config), logger);
    const stats = await service.run({ from, to }, controller.signal);
    logger.info(stats, 'conversation summaries done');
    return 0;
  } catch (err) {
    logger.error({ err: (err as Error).message }, 'conversation summaries failed');
    return 1;
  } finally {
    await database.close();
  }
}

process.exitCode = await main(process.argv.slice(2));
