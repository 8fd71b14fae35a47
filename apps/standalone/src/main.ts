import { runService } from '@lumen/runtime';
import { startStandalone } from './standalone.ts';

await runService('lumen', (config, logger) => startStandalone(config, logger));
