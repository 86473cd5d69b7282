// The official MCP client against a site's built-in MCP: lists the tools, then calls one.
//   node examples/mcp-client.mjs http://127.0.0.1:8081/mcp [tool] [json-arguments]
// The URL is the site's own port (printed by `berth up` as site:<name>): no resolver needed.
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';

const [url = 'http://127.0.0.1:8081/mcp', tool = 'getItem', args = '{"id":1}'] = process.argv.slice(2);
const client = new Client({ name: 'berth-readme', version: '1' });
await client.connect(new StreamableHTTPClientTransport(new URL(url)));
const { tools } = await client.listTools();
console.log(`tools/list: ${tools.map((t) => t.name).join(', ')}`);
const result = await client.callTool({ name: tool, arguments: JSON.parse(args) });
console.log(`tools/call ${tool}: ${JSON.stringify(result.structuredContent ?? result.content)}`);
await client.close();
