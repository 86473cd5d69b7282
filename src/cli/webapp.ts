import { execFileSync } from 'node:child_process';
import { openAsBlob } from 'node:fs';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import type { Agent, Response } from 'undici';
import type { SiteStatus, SlotStatus } from '../sites/index.js';
import { fail, printResult, table, withExample } from './common.js';
import { registerWebappAuthCommands } from './webapp-auth.js';
import { registerWebappLogCommands } from './webapp-log.js';
import { consoleHeaders, consoleUrl, withConsoleOptions, type ConsoleOptions } from './console-client.js';

/** Calls the sites API; a problem+json answer becomes `berth: <detail>` (with hints) and exit 1. */
async function api<T>(
  options: ConsoleOptions,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<T> {
  const url = `${await consoleUrl(options)}${path}`;
  const { Agent } = await import('undici');
  // Its own agent, closed after the call: a kept-alive socket would hold the command open for a minute.
  const dispatcher = new Agent();
  try {
    return await callApi<T>(dispatcher, url, method, body, contentType, consoleHeaders(options));
  } finally {
    await dispatcher.close();
  }
}

async function callApi<T>(
  dispatcher: Agent,
  url: string,
  method: string,
  body: unknown,
  contentType: string,
  auth: Record<string, string>,
): Promise<T> {
  const { fetch } = await import('undici');
  let response: Response;
  try {
    response = await fetch(url, {
      dispatcher,
      method,
      headers: body === undefined ? auth : { ...auth, 'content-type': contentType },
      body: (body === undefined
        ? undefined
        : contentType === 'application/json'
          ? JSON.stringify(body)
          : body) as string | undefined,
    });
  } catch (error) {
    fail(
      `cannot reach the console at ${new URL(url).origin}: ${(error as Error & { cause?: Error }).cause?.message ?? (error as Error).message}. Is \`berth up\` running? (--console-url)`,
    );
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  if (!response.ok) {
    let message = text || `${response.status} ${response.statusText}`;
    try {
      const problem = JSON.parse(text) as {
        detail?: string;
        title?: string;
        hints?: string[];
        startupLog?: string;
      };
      message = problem.detail ?? problem.title ?? message;
      if (problem.startupLog)
        message += `\n  startup log: ${problem.startupLog} (berth webapp log startup show --name ${siteOf(url)} --filename ${problem.startupLog})`;
      for (const hint of problem.hints ?? []) message += `\n  HINT: ${hint}`;
    } catch {
      /* not JSON: show as is */
    }
    fail(message);
  }
  return JSON.parse(text) as T;
}

const site = (name: string) => `/api/sites/${encodeURIComponent(name)}`;

/** The site an API URL is about (`/api/sites/<name>/...`), for the commands a message suggests. */
function siteOf(url: string): string {
  return decodeURIComponent(/\/api\/sites\/([^/?]+)/.exec(new URL(url).pathname)?.[1] ?? '<site>');
}

function running(slot: SlotStatus): string {
  return `${slot.instances.filter((i) => i.state === 'running').length}/${slot.instances.length}`;
}

function describeSite(s: SiteStatus): string {
  const lines = [`${s.name}  ${s.url}`, `  host names: ${s.hostNames.join(', ')}`];
  for (const slot of s.slots) {
    lines.push(
      `  slot ${slot.name} (${slot.state}, ${running(slot)} running)${slot.url ? `  ${slot.url}` : ''}`,
    );
    for (const i of slot.instances)
      lines.push(
        `    ${i.id}  ${i.state.padEnd(9)} port ${String(i.port).padEnd(5)} version ${i.version ?? '-'}  restarts ${i.restarts}${i.pid ? `  pid ${i.pid}` : ''}`,
      );
  }
  return lines.join('\n');
}

/** `--setting KEY=VALUE`, repeatable. */
function collectSetting(value: string, previous: Record<string, string>): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) fail(`--setting wants KEY=VALUE, got "${value}"`);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

/** A folder is packed into a tarball so the upload works against a console on another machine too. */
async function packageBody(src: string): Promise<{ blob: Blob; cleanup: () => void }> {
  const path = resolve(src);
  let info;
  try {
    info = statSync(path);
  } catch {
    fail(`${src} does not exist`);
  }
  if (info.isDirectory()) {
    const dir = mkdtempSync(join(tmpdir(), 'berth-pack-'));
    const file = join(dir, 'package.tar.gz');
    try {
      execFileSync('tar', ['-czf', file, '-C', path, '.']);
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      fail(`cannot pack ${src}: ${(error as Error).message}`);
    }
    return { blob: await openAsBlob(file), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  }
  return { blob: await openAsBlob(path), cleanup: () => {} };
}

export function registerWebappCommands(program: Command): void {
  const webapp = withExample(
    program.command('webapp').description('sites: create, deploy, scale, slots, logs'),
    'berth webapp list',
  );

  withExample(
    withConsoleOptions(webapp.command('list').description('list sites with their slots and instances')),
    'berth webapp list --output json',
  ).action(async (options: ConsoleOptions) => {
    const sites = await api<SiteStatus[]>(options, 'GET', '/api/sites');
    printResult(options.output, sites, () =>
      sites.length === 0
        ? 'No sites.'
        : table(
            ['NAME', 'URL', 'SLOTS', 'RUNNING'],
            sites.map((s) => [
              s.name,
              s.url,
              s.slots.map((x) => x.name).join(','),
              s.slots.map(running).join(','),
            ]),
          ),
    );
  });

  withExample(
    withConsoleOptions(
      webapp
        .command('show')
        .description('show a site: host names, slots, instances and their states')
        .requiredOption('--name <site>', 'the site'),
    ),
    'berth webapp show --name api',
  ).action(async (options: ConsoleOptions & { name: string }) => {
    const status = await api<SiteStatus>(options, 'GET', site(options.name));
    printResult(options.output, status, () => describeSite(status));
  });

  withExample(
    withConsoleOptions(
      webapp
        .command('create')
        .description('create a site at run time (kept under the data folder) and start it')
        .requiredOption('--name <site>', 'lowercase letters, digits and hyphens; becomes <name>.localhost')
        .requiredOption('--command <command>', 'start command, run in the site folder with PORT set')
        .option(
          '--root <dir>',
          "folder the site runs from until its first deploy (default: the server's working folder)",
        )
        .option('--instances <n>', 'number of instances', '1')
        .option(
          '--setting <KEY=VALUE>',
          'an app setting, given to the app as an environment variable (repeatable)',
          collectSetting,
          {},
        )
        .option(
          '--sticky-setting <KEY>',
          'a setting that stays with its slot on swap (repeatable)',
          (v: string, p: string[]) => [...p, v],
          [] as string[],
        )
        .option(
          '--start-time-limit <duration>',
          'how long an instance may take to answer the warmup probe',
          '230s',
        )
        .option('--warmup-path <path>', 'warmup probe path', '/robots933456.txt')
        .option('--health-check-path <path>', 'instances failing it leave the rotation and restart')
        .option(
          '--host-name <host>',
          'an extra host name routed to the site (repeatable)',
          (v: string, p: string[]) => [...p, v],
          [] as string[],
        )
        .option('--affinity', 'pin clients to an instance with the ARRAffinity cookie')
        .addOption(
          new Option('--load-balancing <strategy>', 'how requests are spread')
            .choices(['round-robin', 'least-connections'])
            .default('round-robin'),
        ),
    ),
    'berth webapp create --name api --command "node server.mjs" --root ./examples/sites/api --instances 2 --setting GREETING=hello',
  ).action(
    async (
      options: ConsoleOptions & {
        name: string;
        command: string;
        root?: string;
        instances: string;
        setting: Record<string, string>;
        stickySetting: string[];
        startTimeLimit: string;
        warmupPath: string;
        healthCheckPath?: string;
        hostName: string[];
        affinity?: boolean;
        loadBalancing: string;
      },
    ) => {
      const instances = Number(options.instances);
      if (!Number.isInteger(instances))
        fail(`--instances must be a whole number, got "${options.instances}"`);
      const definition = {
        name: options.name,
        command: options.command,
        ...(options.root ? { root: resolve(options.root) } : {}),
        instances,
        appSettings: options.setting,
        stickySettings: options.stickySetting,
        startTimeLimit: options.startTimeLimit,
        warmupPath: options.warmupPath,
        ...(options.healthCheckPath ? { healthCheckPath: options.healthCheckPath } : {}),
        hostNames: options.hostName,
        clientAffinityEnabled: options.affinity === true,
        loadBalancing: options.loadBalancing,
      };
      const status = await api<SiteStatus>(options, 'POST', '/api/sites', definition);
      printResult(
        options.output,
        status,
        () =>
          `Created ${status.name}: ${status.slots[0]?.url ?? status.url} (instances start in the background; see \`berth webapp show --name ${status.name}\`)`,
      );
    },
  );

  withExample(
    withConsoleOptions(
      webapp
        .command('deploy')
        .description(
          'deploy a folder, zip or tarball: new instances warm up before the old ones leave; a broken package keeps the running version',
        )
        .requiredOption('--name <site>', 'the site')
        .requiredOption('--src <path>', 'a folder, .zip, .tar or .tar.gz')
        .option('--slot <slot>', 'deployment slot', 'production')
        .option('--server-path', "the path is on the console's machine: do not upload it"),
    ),
    'berth webapp deploy --name api --src ./build.zip',
    'berth webapp deploy --name api --src ./app --slot staging',
  ).action(
    async (options: ConsoleOptions & { name: string; src: string; slot: string; serverPath?: boolean }) => {
      const path = `${site(options.name)}/deploy?slot=${encodeURIComponent(options.slot)}`;
      let result: { version: string; slot: string };
      if (options.serverPath) {
        result = await api(options, 'POST', path, { path: resolve(options.src) });
      } else {
        const { blob, cleanup } = await packageBody(options.src);
        if (options.output !== 'json')
          process.stderr.write(
            `Uploading ${(blob.size / 1024).toFixed(0)} KiB and rolling it out one instance at a time...\n`,
          );
        try {
          result = await api(options, 'POST', path, blob, 'application/octet-stream');
        } finally {
          cleanup();
        }
      }
      printResult(
        options.output,
        result,
        () => `Deployed version ${result.version} to ${options.name} (slot ${result.slot}).`,
      );
    },
  );

  for (const [action, description] of [
    ['start', 'start a stopped site (or slot)'],
    ['stop', 'stop every instance of a site (or slot); the front door answers 503'],
    ['restart', 'restart every instance without downtime: new ones warm before old ones stop'],
  ] as const) {
    withExample(
      withConsoleOptions(
        webapp
          .command(action)
          .description(description)
          .requiredOption('--name <site>', 'the site')
          .option('--slot <slot>', 'deployment slot', 'production'),
      ),
      `berth webapp ${action} --name api`,
    ).action(async (options: ConsoleOptions & { name: string; slot: string }) => {
      const status = await api<SiteStatus>(
        options,
        'POST',
        `${site(options.name)}/${action}?slot=${encodeURIComponent(options.slot)}`,
        {},
      );
      printResult(options.output, status, () => describeSite(status));
    });
  }

  withExample(
    withConsoleOptions(
      webapp
        .command('scale')
        .description('set the number of instances')
        .requiredOption('--name <site>', 'the site')
        .requiredOption('--instances <n>', 'from 1 to 64')
        .option('--slot <slot>', 'deployment slot', 'production'),
    ),
    'berth webapp scale --name api --instances 3',
  ).action(async (options: ConsoleOptions & { name: string; instances: string; slot: string }) => {
    const instances = Number(options.instances);
    if (!Number.isInteger(instances)) fail(`--instances must be a whole number, got "${options.instances}"`);
    const status = await api<SiteStatus>(options, 'POST', `${site(options.name)}/scale`, {
      instances,
      slot: options.slot,
    });
    printResult(options.output, status, () => describeSite(status));
  });

  const deployment = withExample(
    webapp.command('deployment').description('deployment slots'),
    'berth webapp deployment slot list --name api',
  );
  const slot = withExample(
    deployment.command('slot').description('create, list and swap deployment slots'),
    'berth webapp deployment slot swap --name api --slot staging',
  );

  withExample(
    withConsoleOptions(
      slot
        .command('create')
        .description(
          'create a slot; it runs the production content, with settings cloned from --configuration-source',
        )
        .requiredOption('--name <site>', 'the site')
        .requiredOption('--slot <slot>', 'the new slot, e.g. staging')
        .option('--configuration-source <slot>', 'copy app settings from this slot'),
    ),
    'berth webapp deployment slot create --name api --slot staging --configuration-source production',
  ).action(async (options: ConsoleOptions & { name: string; slot: string; configurationSource?: string }) => {
    const status = await api<SiteStatus>(options, 'POST', `${site(options.name)}/slots`, {
      name: options.slot,
      configurationSource: options.configurationSource,
    });
    printResult(
      options.output,
      status,
      () =>
        `Created slot ${options.slot} of ${options.name}: ${status.slots.find((s) => s.name === options.slot)?.url ?? status.url.replace(`//${options.name}.`, `//${options.name}-${options.slot}.`)}`,
    );
  });

  withExample(
    withConsoleOptions(
      slot
        .command('list')
        .description('list the slots of a site')
        .requiredOption('--name <site>', 'the site'),
    ),
    'berth webapp deployment slot list --name api',
  ).action(async (options: ConsoleOptions & { name: string }) => {
    const slots = await api<SlotStatus[]>(options, 'GET', `${site(options.name)}/slots`);
    printResult(options.output, slots, () =>
      table(
        ['SLOT', 'STATE', 'RUNNING', 'VERSION'],
        slots.map((s) => [s.name, s.state, running(s), s.instances[0]?.version ?? '-']),
      ),
    );
  });

  withExample(
    withConsoleOptions(
      slot
        .command('swap')
        .description(
          'swap a slot into another (production by default): warm first, switch at once, no failed requests',
        )
        .requiredOption('--name <site>', 'the site')
        .requiredOption('--slot <slot>', 'the source slot, e.g. staging')
        .option('--target-slot <slot>', 'the slot to swap with', 'production'),
    ),
    'berth webapp deployment slot swap --name api --slot staging --target-slot production',
  ).action(async (options: ConsoleOptions & { name: string; slot: string; targetSlot: string }) => {
    if (options.output !== 'json')
      process.stderr.write(`Swapping ${options.slot} into ${options.targetSlot}...\n`);
    const result = await api<SiteStatus & { steps: string[] }>(
      options,
      'POST',
      `${site(options.name)}/slots/swap`,
      { source: options.slot, target: options.targetSlot },
    );
    printResult(options.output, result, () =>
      [...result.steps.map((s) => `  ${s}`), describeSite(result)].join('\n'),
    );
  });

  registerWebappLogCommands(webapp);
  registerWebappAuthCommands(webapp);
}
