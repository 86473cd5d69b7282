/**
 * Runs the explicit-handle example site as an MCP server:
 *   BERTH_MCP_SECRET=<at least 16 bytes> npx tsx examples/handles/main.ts [port] [instance-id]
 * Start two with the same secret behind any round-robin balancer: totals stay right whichever
 * instance answers. Stops on SIGINT/SIGTERM.
 */
import { randomBytes } from 'node:crypto';
import { startMcpServer } from '../../src/mcp/index.js';
import { handlesCatalog } from './catalog.js';

const secret = process.env.BERTH_MCP_SECRET ?? randomBytes(32).toString('hex');
if (!process.env.BERTH_MCP_SECRET)
  console.error('BERTH_MCP_SECRET not set: using a random key (handles work on this instance only)');
const port = Number(process.argv[2] ?? 0);
const instanceId = process.argv[3];
const server = await startMcpServer({
  catalog: handlesCatalog({ secret, instanceId }),
  listen: `127.0.0.1:${port}`,
  handleSecret: secret,
});
console.log(`handles example: ${server.urls[0]}`);
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => void server.close().then(() => process.exit(0)));
