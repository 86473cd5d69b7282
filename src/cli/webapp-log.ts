import type { Command } from 'commander';
import { withExample } from './common.js';

/** `berth webapp log ...`: attached to the webapp command group by webapp.ts. */
export function registerWebappLogCommands(webapp: Command): void {
  withExample(webapp.command('log').description('application and startup logs of a site'), 'berth webapp log tail --name api');
}
