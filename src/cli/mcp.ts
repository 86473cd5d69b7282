import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import { fail, loadConfigOrExit, printResult, table, withExample, withOutput } from './common.js';

interface ServeOptions {
  spec?: string;
  upstream?: string;
  path: string;
  listen?: string;
  tools?: string;
  description?: string;
  fixture?: string;
  poll: string;
  output: string;
  dataDir?: string;
  config?: string;
  credential: string[];
}

export function registerMcpCommands(program: Command): void {
  const mcp = withExample(
    program
      .command('mcp')
      .description('serve a REST API described by OpenAPI as an MCP server (both protocol eras)'),
    'berth mcp serve --spec openapi.json --upstream http://127.0.0.1:3000',
  );

  const serve = mcp
    .command('serve')
    .description(
      'answer MCP (2026-07-28 and 2025-11-25) at --path, one tool per OpenAPI operation, with hot reload of the spec',
    )
    .option(
      '--spec <file|url>',
      'OpenAPI 3.0/3.1 or Swagger 2.0 document (a file is watched, a URL polled with ETag)',
    )
    .option('--upstream <url>', 'base URL of the REST API the tools call')
    .option('--path <path>', 'MCP endpoint path', '/mcp')
    .option('--listen <host:port>', 'address to listen on (default 127.0.0.1:0, loopback only)')
    .option('--tools <ids>', 'comma-separated operation ids to expose ("*" all, "" none; default all)')
    .option('--description <text>', 'server description shown to clients (256 characters at most)')
    .option('--poll <seconds>', 'how often a spec URL is polled for changes', '30')
    .option(
      '--fixture <name>',
      'serve built-in test tools instead of a spec ("conformance": the MCP conformance suite\'s tools)',
    )
    .option(
      '--data-dir <dir>',
      "where the session key is kept (default: the config's dataDir, else .berth in the working directory)",
    )
    .option('--config <file>', 'berth.yaml to read dataDir and mcp.credentials from')
    .option(
      '--credential <scheme=env:VAR>',
      'fill a security scheme of the document from an environment variable (repeatable; value: API key or token, user:password for basic, client_id:client_secret for OAuth2 client credentials)',
      (value: string, all: string[]) => [...all, value],
      [] as string[],
    );
  withOutput(serve);
  withExample(
    serve,
    'berth mcp serve --spec examples/petstore/openapi.yaml --upstream http://127.0.0.1:3000 --listen 127.0.0.1:8080',
    'berth mcp serve --spec https://api.example.com/openapi.json --upstream https://api.example.com --poll 60',
    'berth mcp serve --fixture conformance --listen 127.0.0.1:3001 --output json',
    'PETSTORE_KEY=... berth mcp serve --spec openapi.json --upstream https://api.example.com --credential api_key=env:PETSTORE_KEY',
  );
  serve.action(async (opts: ServeOptions) => {
    if (opts.fixture !== undefined && opts.fixture !== 'conformance')
      fail(`unknown --fixture "${opts.fixture}"; the only fixture is "conformance"`);
    if (!opts.fixture && (!opts.spec || !opts.upstream))
      fail('berth mcp serve needs --spec <file|url> and --upstream <url> (or --fixture conformance)');
    if (!opts.path.startsWith('/')) fail(`--path must start with "/", got "${opts.path}"`);
    if (opts.description !== undefined && opts.description.length > 256)
      fail('--description must be 256 characters or fewer');
    const poll = Number(opts.poll);
    if (!Number.isFinite(poll) || poll <= 0)
      fail(`--poll must be a positive number of seconds, got "${opts.poll}"`);
    if (opts.upstream !== undefined && !/^https?:\/\//i.test(opts.upstream))
      fail(`--upstream must be an http(s) URL, got "${opts.upstream}"`);

    // Loaded here, not at the top: every `berth` command builds the whole command tree.
    const [
      { createLogger },
      { runUntilSignal },
      { conformanceCatalog, startMcpServer },
      { readOrCreateSecret },
    ] = await Promise.all([
      import('../lib/logger.js'),
      import('../lib/service.js'),
      import('../mcp/index.js'),
      import('../lib/secret.js'),
    ]);
    const loaded = opts.config ? await loadConfigOrExit(opts.config) : undefined;
    const config = loaded?.config;
    const dataDir = resolve(opts.dataDir ?? config?.dataDir ?? '.berth');
    const { parseCredentialFlag, resolveCredentials } = await import('../mcp/index.js');
    let credentials: Record<string, string>;
    try {
      const references = { ...(config?.mcp.credentials ?? {}) };
      for (const flag of opts.credential) {
        const [scheme, reference] = parseCredentialFlag(flag);
        references[scheme] = reference;
      }
      credentials = await resolveCredentials(
        references,
        process.env,
        await secretsOf(dataDir, config, loaded?.baseDir ?? process.cwd()),
      );
    } catch (error) {
      fail((error as Error).message);
    }
    // 2025-era session ids are signed: keeping the key in the data folder (as `berth up` does) keeps
    // them valid across a restart. BERTH_MCP_SECRET, when set, is shared by several instances instead.
    const handleSecret =
      process.env.BERTH_MCP_SECRET || (await readOrCreateSecret(join(dataDir, 'secrets', 'mcp-session.key')));
    const logger = createLogger({ name: 'mcp' });
    let service: Awaited<ReturnType<typeof startMcpServer>> | undefined;
    // The fixture's test_trigger_tool_change swaps the tool list; route that through hot reload.
    const fixture = opts.fixture
      ? conformanceCatalog({ onToolsChanged: (next) => service?.handler.setCatalog(next) })
      : undefined;
    try {
      service = await startMcpServer({
        spec: opts.spec,
        upstream: opts.upstream,
        catalog: fixture,
        path: opts.path,
        listen: opts.listen,
        tools:
          opts.tools === undefined
            ? undefined
            : opts.tools
                .split(',')
                .map((t) => t.trim())
                .filter((t) => t !== ''),
        description: opts.description,
        handleSecret,
        credentials,
        pollIntervalMs: poll * 1000,
        logger,
      });
    } catch (error) {
      fail((error as Error).message);
    }
    if (opts.output === 'json') {
      printResult(
        'json',
        {
          urls: service.urls,
          tools: service.handler.catalog.tools.length,
          hash: service.handler.catalog.hash,
        },
        () => '',
      );
    } else {
      process.stderr.write(`serving ${service.handler.catalog.tools.length} tools\n`);
    }
    await runUntilSignal([service], logger);
  });

  const check = mcp
    .command('check')
    .description(
      'convert an OpenAPI document and report, per tool, what a strict model host (Anthropic, Bedrock) would refuse; exits 1 when something would be',
    )
    .requiredOption('--spec <file|url>', 'OpenAPI 3.0/3.1 or Swagger 2.0 document')
    .option('--tools <ids>', 'comma-separated operation ids to check ("*" all; default all)');
  withOutput(check);
  withExample(
    check,
    'berth mcp check --spec openapi.json',
    'berth mcp check --spec openapi.json --output json',
  );
  check.action(async (opts: { spec: string; tools?: string; output: string }) => {
    const { buildCatalog, loadSpec, strictHostReport } = await import('../mcp/index.js');
    let report: ReturnType<typeof strictHostReport>;
    try {
      const { document } = await loadSpec(opts.spec);
      const tools = opts.tools
        ?.split(',')
        .map((t) => t.trim())
        .filter((t) => t !== '');
      // The upstream is never called here; the catalog only needs a syntactically valid one.
      report = strictHostReport(buildCatalog(document, { upstream: 'http://127.0.0.1:9', tools }));
    } catch (error) {
      fail((error as Error).message);
    }
    const errors = report.problems.filter((p) => p.severity === 'error').length;
    printResult('json' === opts.output ? 'json' : 'text', report, () => {
      const lines = [
        `${report.tools} tools from ${report.operations} operations; ${report.skipped.length} operations skipped; ${errors} errors, ${report.problems.length - errors} warnings`,
      ];
      if (report.problems.length > 0)
        lines.push(
          '',
          table(
            ['TOOL', 'SEVERITY', 'PROBLEM'],
            report.problems.map((p) => [p.tool, p.severity, p.message]),
          ),
        );
      if (report.skipped.length > 0)
        lines.push(
          '',
          table(
            ['METHOD', 'PATH', 'SKIPPED BECAUSE'],
            report.skipped.map((s) => [s.method.toUpperCase(), s.path, s.reason]),
          ),
        );
      return lines.join('\n');
    });
    if (errors > 0) process.exitCode = 1;
  });
}

/**
 * `@secret(name)` credentials come from Berth's secret store (`berth secret set`): the one of the
 * data folder `berth mcp serve` uses, with the key file berth.yaml names (beside the folder by default).
 */
async function secretsOf(
  dataDir: string,
  config: { secrets: { keyFile?: string } } | undefined,
  baseDir: string,
): Promise<(name: string) => Promise<string | undefined>> {
  const { secretStoreOf, SecretNotFound } = await import('../secrets/index.js');
  const store = secretStoreOf({ dataDir, secrets: config?.secrets ?? {} }, baseDir);
  return async (name) => {
    try {
      return (await store.get(name)).value;
    } catch (error) {
      if (error instanceof SecretNotFound) return undefined;
      throw error;
    }
  };
}
