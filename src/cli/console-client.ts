import type { Command } from 'commander';
import { parseListen, urlFor } from '../lib/listen.js';
import { loadConfigOrExit, withOutput } from './common.js';

/** Options of the commands that talk to the console of a running `berth up`. */
export interface ConsoleOptions {
  consoleUrl?: string;
  config?: string;
  output: string;
}

/** The console of a running `berth up`: --console-url, else console.listen from the config. */
export function consoleUrl(options: ConsoleOptions): string {
  if (options.consoleUrl) return options.consoleUrl.replace(/\/+$/, '');
  const { config } = loadConfigOrExit(options.config);
  return urlFor(parseListen(config.console.listen), '').replace(/\/+$/, '');
}

/** Adds --console-url, --config and --output. */
export function withConsoleOptions<T extends Command>(command: T): T {
  command
    .option(
      '--console-url <url>',
      'console of a running `berth up` (default: console.listen from the config)',
    )
    .option('--config <file>', 'berth.yaml to read console.listen from');
  return withOutput(command);
}
