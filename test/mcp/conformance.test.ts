/**
 * The official MCP conformance suite (@modelcontextprotocol/conformance 0.2.0-alpha.12, run on the
 * Node 22 from the `node` devDependency because the suite needs it) against `berth mcp serve`'s
 * conformance fixture, for the frozen 2026-07-28 and 2025-11-25 requirement sets. Scenarios that do
 * not apply to a tools-only server are listed with reasons in conformance-expected-failures.yaml;
 * the suite exits non-zero on any other failure and on a listed scenario that starts passing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { conformanceCatalog, startMcpServer, type RunningMcpServer } from '../../src/mcp/index.js';

// Node 22 lives outside the project's node_modules: as a devDependency its `node` bin would shadow
// Node 20 in every npm script (and break better-sqlite3, built for 20). `npm run setup:node22` installs it.
const NODE22 = resolve('.tools/node22/node_modules/node/bin/node');
const SUITE = resolve('node_modules/@modelcontextprotocol/conformance/dist/index.js');
const BASELINE = resolve('test/mcp/conformance-expected-failures.yaml');

function runSuite(
  url: string,
  requirements: string,
  out: string,
): Promise<{ code: number | null; output: string }> {
  return new Promise((done) => {
    const child = spawn(
      NODE22,
      [
        SUITE,
        'server',
        '--url',
        url,
        '--requirements',
        requirements,
        '--expected-failures',
        BASELINE,
        '-o',
        out,
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('close', (code) => done({ code, output }));
  });
}

for (const requirements of ['2026-07-28', '2025-11-25']) {
  test(
    `conformance suite, --requirements ${requirements}: every applicable scenario passes`,
    { timeout: 240_000 },
    async (t) => {
      if (!existsSync(NODE22) || !existsSync(SUITE)) {
        t.skip('conformance suite or Node 22 missing: npm install && npm run setup:node22');
        return;
      }
      // The fixture's test_trigger_tool_change swaps the tool list through the handler (hot reload).
      const ref: { server?: RunningMcpServer } = {};
      const catalog = conformanceCatalog({ onToolsChanged: (next) => ref.server?.handler.setCatalog(next) });
      const server = await startMcpServer({ catalog });
      ref.server = server;
      const out = mkdtempSync(join(tmpdir(), 'berth-conformance-'));
      t.after(async () => {
        await server.close();
        rmSync(out, { recursive: true, force: true });
      });
      const { code, output } = await runSuite(server.urls[0]!, requirements, out);
      const summary = output.slice(output.indexOf('=== SUMMARY ==='));
      assert.equal(code, 0, `conformance failures outside the baseline:\n${summary}`);
      assert.match(output, /tools-call-simple-text: \d+ passed, 0 failed/);
      assert.doesNotMatch(output, /Unexpected failures/);
    },
  );
}
