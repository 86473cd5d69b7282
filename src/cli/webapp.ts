import type { Command } from 'commander';
import { withExample } from './common.js';
import { registerWebappLogCommands } from './webapp-log.js';

export function registerWebappCommands(program: Command): void {
  const webapp = withExample(program.command('webapp').description('sites: create, deploy, scale, slots, logs'), 'berth webapp list');
  registerWebappLogCommands(webapp);
}
