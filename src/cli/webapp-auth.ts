import type { Command } from 'commander';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { fail, printResult, withExample, withOutput } from './common.js';

/** The config file named by --config or BERTH_CONFIG: these commands edit it. */
function configFile(options: { config?: string }): string {
  const file = options.config ?? process.env.BERTH_CONFIG;
  if (!file) fail('name the berth.yaml to read and change with --config (or BERTH_CONFIG)');
  return file;
}

async function readJson(source: string): Promise<unknown> {
  let text: string;
  try {
    if (source === '-') {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      text = Buffer.concat(chunks).toString('utf8');
    } else text = await readFile(source, 'utf8');
  } catch (error) {
    fail(`cannot read ${source}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    fail(`${source} is not JSON: ${(error as Error).message}`);
  }
}

/**
 * `berth webapp auth show|update`: App Service's `az webapp auth show|update` for a site in
 * berth.yaml. `update --file` imports an authsettingsV2 document as `az webapp auth show` prints
 * it; fields Berth does not support are left out, each named with the reason. The file is
 * written only when the whole config is still valid, with its comments kept; `berth up` applies
 * it at its next start.
 */
export function registerWebappAuthCommands(webapp: Command): void {
  const auth = withExample(
    webapp.command('auth').description("a site's built-in authentication (App Service's authsettingsV2)"),
    'berth webapp auth show --name api --config berth.yaml',
    'berth webapp auth update --name api --file auth.json --config berth.yaml   # auth.json from az webapp auth show',
  );

  withExample(
    withOutput(
      auth
        .command('show')
        .description("print a site's auth settings (authsettingsV2 shape, defaults filled in)")
        .requiredOption('--name <site>', 'site name')
        .option('--config <file>', 'berth.yaml'),
    ),
    'berth webapp auth show --name api --output json',
  ).action(async (options: { name: string; config?: string; output: string }) => {
    const { loadConfig, ConfigError } = await import('../config/index.js');
    let site;
    try {
      site = loadConfig(configFile(options)).config.sites.find((s) => s.name === options.name);
    } catch (error) {
      if (error instanceof ConfigError) fail(error.message);
      throw error;
    }
    if (!site) fail(`no site named ${options.name} in ${configFile(options)}`);
    const document = { properties: site.auth };
    printResult(options.output, document, () => JSON.stringify(document, null, 2));
  });

  withExample(
    withOutput(
      auth
        .command('update')
        .description(
          "replace a site's auth settings with an authsettingsV2 JSON document (an `az webapp auth show` export)",
        )
        .requiredOption('--name <site>', 'site name')
        .requiredOption('--file <file>', 'the JSON document, or - for stdin')
        .option('--config <file>', 'berth.yaml to change'),
    ),
    'berth webapp auth update --name api --file auth.json --config berth.yaml',
  ).action(async (options: { name: string; file: string; config?: string; output: string }) => {
    const file = configFile(options);
    const [{ importAuthSettings, AuthImportError, loadConfig, ConfigError }, { parseDocument }] =
      await Promise.all([import('../config/index.js'), import('yaml')]);
    let imported;
    try {
      imported = importAuthSettings(await readJson(options.file));
    } catch (error) {
      if (error instanceof AuthImportError) fail(`${options.file}: ${error.message}`);
      throw error;
    }
    const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) =>
      fail(`cannot read ${file}: ${error.code ?? error.message}`),
    );
    const doc = parseDocument(text);
    const sites = (doc.toJS() as { sites?: { name?: string }[] } | null)?.sites ?? [];
    const index = sites.findIndex((s) => s?.name === options.name);
    if (index === -1) fail(`no site named ${options.name} in ${file}`);
    doc.setIn(['sites', index, 'auth'], doc.createNode(imported.auth));
    // Written beside the file and checked as a whole config before it replaces the file.
    const temporary = `${file}.auth-update.tmp`;
    await writeFile(temporary, doc.toString());
    try {
      loadConfig(temporary);
    } catch (error) {
      await import('node:fs/promises').then(({ rm }) => rm(temporary, { force: true }));
      if (error instanceof ConfigError)
        fail(`the result would not be a valid config, nothing changed:\n${error.problems.join('\n')}`);
      throw error;
    }
    await rename(temporary, file);
    printResult(options.output, { site: options.name, file, leftOut: imported.notes }, () =>
      [
        `${options.name}: auth settings written to ${file} (berth up applies them at its next start)`,
        ...imported.notes.map((n) => `  left out ${n.path}: ${n.message}`),
      ].join('\n'),
    );
  });
}
