import type { Command } from 'commander';
import { createLogger } from '../lib/logger.js';
import { runUntilSignal, type RunningService } from '../lib/service.js';
import { loadConfigOrExit, withExample } from './common.js';

export function registerUpCommand(program: Command): void {
  withExample(
    program.command('up').description('run everything the config names: registry, sites behind the front door, console').option('--config <file>', 'berth.yaml to run'),
    'berth up --config examples/berth.yaml',
  ).action(async (options: { config?: string }) => {
    const { config } = loadConfigOrExit(options.config);
    const log = createLogger({ level: config.log.level });
    const services: RunningService[] = [];
    await runUntilSignal(services, log);
  });
}
