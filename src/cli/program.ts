import { Command } from 'commander';
import { loadTerminalText, withExample } from './common.js';
import { registerConfigCommands } from './config.js';
import { registerMcpCommands } from './mcp.js';
import { registerRegistryCommands } from './registry.js';
import { registerSecretCommands } from './secret.js';
import { registerUpCommand } from './up.js';
import { registerWebappCommands } from './webapp.js';

/** The whole `berth` command tree, built without parsing anything (tests walk it in-process). */
export function buildProgram(): Command {
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
  // Every command prints what sites wrote somewhere; --help never gets here.
  program.hook('preAction', async () => {
    await loadTerminalText();
  });
  registerUpCommand(program);
  registerConfigCommands(program);
  registerRegistryCommands(program);
  registerWebappCommands(program);
  registerMcpCommands(program);
  registerSecretCommands(program);
  return program;
}
