import { Command } from 'commander';
import { registerConfigCommands } from './config.js';
import { registerUpCommand } from './up.js';
import { registerRegistryCommands } from './registry.js';
import { registerMcpCommands } from './mcp.js';
import { registerWebappCommands } from './webapp.js';
import { withExample } from './common.js';

const program = withExample(
  new Command('berth')
    .description(
      'Berth: a self-hosted OCI registry, app host with a front door (auth, MCP, policies) and log console',
    )
    .version('0.1.0')
    .showHelpAfterError()
    .enablePositionalOptions(),
  'berth up --config examples/berth.yaml',
  'berth registry serve --listen 127.0.0.1:5000 --data-dir ./data',
);

registerUpCommand(program);
registerConfigCommands(program);
registerRegistryCommands(program);
registerWebappCommands(program);
registerMcpCommands(program);

await program.parseAsync(process.argv);
