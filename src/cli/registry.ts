import type { Command } from 'commander';
import { withExample } from './common.js';

export function registerRegistryCommands(program: Command): void {
  withExample(program.command('registry').description('registry commands'), 'berth registry serve --listen 127.0.0.1:5000 --data-dir ./data');
}
