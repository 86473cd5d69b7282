import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { LoadedConfig } from '../config/index.js';
import type { RegistryConfig } from '../config/index.js';
import { fail, loadConfigOrExit, printResult, withExample, withOutput, withServerOptions } from './common.js';

interface ServerOptions {
  listen?: string;
  dataDir?: string;
  config?: string;
}

/** The registry's data folder: --data-dir, else registry.dataDir, else <dataDir>/registry (relative to the config file). */
function registryDataDir(loaded: LoadedConfig, flag: string | undefined): string {
  if (flag) return resolve(flag);
  const { config, baseDir } = loaded;
  return config.registry.dataDir
    ? resolve(baseDir, config.registry.dataDir)
    : resolve(baseDir, config.dataDir, 'registry');
}

/** `1h`, `30m`, `45s`, `250ms`: as berth.yaml writes durations. */
function duration(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const)
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

export function registerRegistryCommands(program: Command): void {
  const registry = withExample(
    program.command('registry').description('the OCI registry: serve it, collect garbage'),
    'berth registry serve --listen 127.0.0.1:5000 --data-dir ./data',
  );

  withExample(
    withServerOptions(
      registry
        .command('serve')
        .description('serve the OCI Distribution 1.1 API (prints its URL, stops on SIGINT/SIGTERM)'),
      '127.0.0.1:5000',
    ),
    'berth registry serve --listen 127.0.0.1:5000 --data-dir ./data',
    'berth registry serve --listen 127.0.0.1:0 --config berth.yaml',
  ).action(async (options: ServerOptions) => {
    const loaded = await loadConfigOrExit(options.config);
    // Loaded here, not at the top: every `berth` command builds the whole command tree.
    const [{ createLogger }, { runUntilSignal }, { startRegistry }] = await Promise.all([
      import('../lib/logger.js'),
      import('../lib/service.js'),
      import('../registry/index.js'),
    ]);
    const config: RegistryConfig = {
      ...loaded.config.registry,
      ...(options.listen ? { listen: options.listen } : {}),
    };
    const log = createLogger({ level: loaded.config.log.level, name: 'registry' });
    let service;
    try {
      service = await startRegistry({
        config,
        dataDir: registryDataDir(loaded, options.dataDir),
        baseDir: loaded.baseDir,
        logger: log,
      });
    } catch (error) {
      fail(`cannot start the registry: ${(error as Error).message}`);
    }
    await runUntilSignal([service], log);
  });

  withExample(
    withOutput(
      registry
        .command('gc')
        .description(
          'remove unreferenced blobs, untagged manifests and abandoned uploads (safe while the registry serves pushes)',
        )
        .option('--dry-run', 'only report what would be removed')
        .option(
          '--grace-period <duration>',
          'keep anything touched within this long (default registry.gc.gracePeriod, 1h)',
        )
        .option('--data-dir <dir>', 'the registry data folder (as for serve)')
        .option('--config <file>', 'berth.yaml to read settings from'),
    ),
    'berth registry gc --dry-run --data-dir ./data',
    'berth registry gc --config berth.yaml --output json',
  ).action(
    async (options: {
      dryRun?: boolean;
      gracePeriod?: string;
      dataDir?: string;
      config?: string;
      output: string;
    }) => {
      const loaded = await loadConfigOrExit(options.config);
      let gracePeriodMs: number | undefined;
      if (options.gracePeriod !== undefined) {
        const { durationSchema } = await import('../config/index.js');
        const parsed = durationSchema.safeParse(
          /^\d+$/.test(options.gracePeriod) ? Number(options.gracePeriod) : options.gracePeriod,
        );
        if (!parsed.success) fail(`--grace-period: ${parsed.error.issues[0]?.message ?? 'invalid duration'}`);
        gracePeriodMs = parsed.data;
      }
      const gracePeriodText = options.gracePeriod ?? duration(loaded.config.registry.gc.gracePeriod);
      const dataDir = registryDataDir(loaded, options.dataDir);
      // A folder that is not there holds nothing to collect: most likely not the one `berth up` uses.
      const { storage, metadata } = loaded.config.registry;
      const allInDataDir = storage.driver === 'filesystem' && !storage.path && metadata.driver === 'sqlite';
      if (allInDataDir && !existsSync(dataDir))
        fail(
          `no registry data at ${dataDir} (${loaded.file ? `from ${loaded.file}` : 'no berth.yaml here, so the defaults'}); give the config \`berth up\` runs (--config examples/berth.yaml for the demo) or the registry's folder (--data-dir)`,
        );
      const [{ runGc }, { humanBytes }] = await Promise.all([
        import('../registry/index.js'),
        import('../lib/bytes.js'),
      ]);
      let report;
      try {
        report = await runGc({
          config: loaded.config.registry,
          dataDir,
          dryRun: options.dryRun,
          gracePeriodMs,
        });
      } catch (error) {
        fail(`gc failed: ${(error as Error).message}`);
      }
      printResult(options.output, report, () => {
        const verb = report.dryRun ? 'would remove' : 'removed';
        const kept = report.keptForGracePeriod;
        const lines = [
          `registry data: ${dataDir}`,
          ...report.manifests.map(
            (m) => `${verb} manifest ${m.repository}@${m.digest} (${humanBytes(m.size)})`,
          ),
          ...report.blobs.map((b) => `${verb} blob ${b.digest} (${humanBytes(b.size)})`),
          ...report.uploads.map((u) => `${verb} upload ${u.id} (${humanBytes(u.size)})`),
          `${report.dryRun ? 'dry run: ' : ''}${report.manifests.length} manifests, ${report.blobs.length} blobs, ${report.uploads.length} uploads; ${humanBytes(report.bytesFreed)} ${report.dryRun ? 'would be ' : ''}freed`,
          `kept because of the grace period (${gracePeriodText}): ${kept.manifests} manifests, ${kept.blobs} blobs, ${humanBytes(kept.bytes)}`,
        ];
        return lines.join('\n');
      });
    },
  );
}
