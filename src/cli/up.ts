import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import type { LoadedConfig } from '../config/index.js';
import type { Logger } from '../lib/logger.js';
import type { SiteManager } from '../sites/index.js';
import type { RunningService } from '../lib/service.js';
import { fail, loadConfigOrExit, withExample } from './common.js';
import { logStream, withLogFormat, type LogFormat } from './log-format.js';

export function registerUpCommand(program: Command): void {
  withExample(
    withLogFormat(
      program
        .command('up')
        .description(
          'run everything the config names: registry, sites behind the front door (with built-in MCP), console',
        )
        .option('--config <file>', 'berth.yaml to run (default: ./berth.yaml if there is one)')
        .option(
          '--data-dir <dir>',
          'where state is kept (default: dataDir of the config, .berth next to it)',
        ),
    ),
    'berth up --config examples/berth.yaml',
    'berth up --config examples/berth.yaml --data-dir ~/berth-data',
    'BERTH_FRONTDOOR__LISTEN=127.0.0.1:9080 berth up --config berth.yaml',
  ).action(async (options: { config?: string; dataDir?: string; logFormat: LogFormat }) => {
    const loaded = await loadConfigOrExit(options.config);
    if (options.dataDir) loaded.config.dataDir = resolve(options.dataDir);
    const [{ createLogger }, { runUntilSignal }, { lockDataDir }] = await Promise.all([
      import('../lib/logger.js'),
      import('../lib/service.js'),
      import('../lib/data-lock.js'),
    ]);
    // Before anything starts: a second `berth up` on the same folder fails now, naming the first.
    let unlock: () => void;
    try {
      unlock = lockDataDir(loaded.config.dataDir, `berth up${loaded.file ? ` --config ${loaded.file}` : ''}`);
    } catch (error) {
      fail((error as Error).message);
    }
    const log = createLogger({ level: loaded.config.log.level, stream: await logStream(options.logFormat) });
    let services: RunningService[];
    try {
      services = await startAll(loaded, log);
    } catch (error) {
      fail(`could not start: ${(error as Error).message}`);
    }
    await runUntilSignal([{ name: 'lock', urls: [], close: async () => unlock() }, ...services], log);
  });
}

/** Below this open-file limit `berth up` warns that the front door's connection cap is small. */
const LOW_DESCRIPTOR_LIMIT = 4096;

/** How long `berth up` waits for sites to warm before it says ready anyway. */
const SITE_READY_WAIT_MS = 60_000;

/**
 * Starts every part the config names, in dependency order (logs first, so the sites' first lines are
 * kept; the console last, so its APIs see running sites), and returns them for `runUntilSignal`.
 */
export async function startAll({ config, baseDir }: LoadedConfig, log: Logger): Promise<RunningService[]> {
  // Loaded here, not at the top: every `berth` command builds the whole command tree.
  const [
    { startConsole },
    { builtinAuth, builtinMcp, startFrontdoor },
    { createLogStore },
    { startRegistry },
    { createSiteManager, sitesApi },
    { parseListen, urlFor },
    { readOrCreateSecret },
    { openFileLimit },
    secrets,
  ] = await Promise.all([
    import('../console/index.js'),
    import('../frontdoor/index.js'),
    import('../logs/index.js'),
    import('../registry/index.js'),
    import('../sites/index.js'),
    import('../lib/listen.js'),
    import('../lib/secret.js'),
    import('../lib/descriptors.js'),
    import('../secrets/index.js'),
  ]);
  const services: RunningService[] = [];
  try {
    const logStore = createLogStore({ dataDir: config.dataDir, config: config.logs, logger: log });
    services.push({ name: 'logs', urls: [], close: () => logStore.close() });

    if (config.registry.enabled) {
      const dataDir = config.registry.dataDir
        ? resolve(baseDir, config.registry.dataDir)
        : join(config.dataDir, 'registry');
      services.push(
        await startRegistry({
          config: config.registry,
          dataDir,
          baseDir,
          logger: log.child({ part: 'registry' }),
        }),
      );
    }

    // Secret references in app settings resolve at instance start, into the instance's environment only.
    const secretStore = secrets.secretStoreOf(config, baseDir);
    const resolveSettings = async (settings: Record<string, string>) => {
      const resolved = await secrets.resolveSettings(settings, secretStore);
      const versions = Object.keys(resolved.versions).length > 0;
      return versions
        ? { ...resolved.env, BERTH_SECRET_VERSIONS: JSON.stringify(resolved.versions) }
        : resolved.env;
    };
    const manager = createSiteManager({
      config,
      baseDir,
      dataDir: config.dataDir,
      logSink: logStore,
      logger: log.child({ part: 'sites' }),
      resolveSettings,
    });
    await manager.start();
    services.push({ name: 'sites', urls: [], close: () => manager.stop() });
    const stopWatching = await secrets.watchSecrets(secretStore, (name) => {
      void rollSitesReferencing(manager, name, secrets.referencedSecrets, log);
    });
    services.push({ name: 'secret-watch', urls: [], close: async () => stopWatching() });

    // Identity providers are discovered before the front door listens: no request waits on them.
    const auth = builtinAuth({
      manager,
      logger: log.child({ part: 'frontdoor' }),
      cookieSecret: await readOrCreateSecret(join(config.dataDir, 'secrets', 'auth-cookie.key')),
      resolveSettings,
    });
    await auth.start();
    let frontdoorOrigin = '';
    const frontdoor = await startFrontdoor({
      config: config.frontdoor,
      manager,
      logger: log.child({ part: 'frontdoor' }),
      middlewares: {
        '*': [
          auth,
          builtinMcp({
            manager,
            frontdoorOrigin: () => frontdoorOrigin,
            baseDir,
            handleSecret: await readOrCreateSecret(join(config.dataDir, 'secrets', 'mcp-session.key')),
            logger: log,
          }),
        ],
      },
    });
    frontdoorOrigin = urlFor({ host: parseListen(config.frontdoor.listen).host, port: frontdoor.port }, '');
    services.push(frontdoor);
    // Each site's and slot's own URL, printed with the others ("site:api", "site:api-staging").
    for (const { site, slot, url } of frontdoor.siteUrls())
      services.push({
        name: `site:${slot === 'production' ? site : `${site}-${slot}`}`,
        urls: [url],
        close: async () => {},
      });
    // The front door caps itself from the descriptor limit so that a flood on it leaves the
    // registry and the console their descriptors; a low limit makes that cap small, say so.
    const descriptorLimit = openFileLimit();
    if (descriptorLimit !== undefined && descriptorLimit < LOW_DESCRIPTOR_LIMIT)
      log.warn(
        { descriptorLimit, frontdoorMaxConnections: frontdoor.maxConnections },
        `the open-file limit is ${descriptorLimit}: the front door takes at most ${frontdoor.maxConnections} connections; raise it (ulimit -n, LimitNOFILE=) for more`,
      );

    if (config.console.enabled) {
      services.push(
        await startConsole({
          config: config.console,
          logStore,
          plugins: [async (app) => void (await app.register(sitesApi, { manager }))],
          logger: log.child({ part: 'console' }),
          baseDir,
        }),
      );
    }
    // Print "ready" once the sites are warm, but never hold the console back from a site that
    // cannot start: its startup log says why, and the console is where one reads it.
    await manager.waitUntilReady(SITE_READY_WAIT_MS).catch((error: Error) => {
      log.warn(`${error.message}; the console shows the same startup logs`);
    });
    return services;
  } catch (error) {
    for (const service of services.reverse()) await service.close().catch(() => {});
    throw error;
  }
}

/** A new version (or a delete) of a secret restarts, one instance at a time, every site slot that references it. */
async function rollSitesReferencing(
  manager: SiteManager,
  secret: string,
  referenced: (settings: Record<string, string>) => string[],
  log: Logger,
): Promise<void> {
  for (const site of manager.sites.values()) {
    const { definition } = site;
    const settings = [definition.appSettings, ...definition.slots.map((slot) => slot.appSettings)];
    if (!settings.some((s) => referenced(s).includes(secret))) continue;
    for (const [slot, group] of site.slots) {
      if (group.stopped) continue;
      log.info({ site: site.name, slot, secret }, 'secret changed; restarting the slot (rolling)');
      await manager
        .restartSite(site.name, slot)
        .catch((error: Error) =>
          log.error({ site: site.name, slot, err: error }, 'restart after a secret change failed'),
        );
    }
  }
}
