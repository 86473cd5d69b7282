import type { Command } from 'commander';
import { withExample } from './common.js';

export function registerMcpCommands(program: Command): void {
  withExample(program.command('mcp').description('mcp commands'), 'berth mcp serve --spec openapi.json --upstream http://127.0.0.1:3000');
}
