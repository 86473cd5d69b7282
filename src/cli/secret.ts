import type { Command } from 'commander';
import { fail, loadConfigOrExit, printResult, table, withExample, withOutput } from './common.js';

/** Reads a secret value from standard input (never from the command line, where `ps` shows it). */
async function readValue(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('value (end with Ctrl-D): ');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  // One trailing newline is the shell's (echo, a here-string), not the secret's.
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

async function storeFor(config: string | undefined) {
  const loaded = await loadConfigOrExit(config);
  const { secretStoreOf } = await import('../secrets/index.js');
  return secretStoreOf(loaded.config, loaded.baseDir);
}

export function registerSecretCommands(program: Command): void {
  const secret = withExample(
    program
      .command('secret')
      .description(
        "Berth's encrypted secret store, which @secret(name) and Key Vault references in app settings resolve from",
      ),
    'berth secret set db-password --config berth.yaml < password.txt',
    'berth secret list',
  );

  withExample(
    withOutput(
      secret
        .command('set <name>')
        .description(
          'store a new version of a secret, read from stdin; running sites that reference it restart (rolling)',
        )
        .option('--config <file>', 'berth.yaml'),
    ),
    'berth secret set demo-secret < value.txt   # or: printf %s "$VALUE" | berth secret set demo-secret',
  ).action(async (name: string, options: { config?: string; output: string }) => {
    const store = await storeFor(options.config);
    const value = await readValue();
    if (value === '')
      fail(
        'the value read from stdin is empty; pipe the secret in: printf %s "…" | berth secret set ' + name,
      );
    try {
      const version = await store.set(name, value);
      printResult(options.output, { name, version }, () => `${name}: version ${version} stored`);
    } catch (error) {
      fail((error as Error).message);
    }
  });

  withExample(
    withOutput(
      secret
        .command('list')
        .description('names and versions (never values)')
        .option('--config <file>', 'berth.yaml'),
    ),
    'berth secret list --output json',
  ).action(async (options: { config?: string; output: string }) => {
    const store = await storeFor(options.config);
    const secrets = await store.list().catch((error: Error) => fail(error.message));
    printResult(options.output, secrets, () =>
      secrets.length === 0
        ? 'no secrets'
        : table(
            ['NAME', 'VERSIONS', 'LATEST', 'CREATED'],
            secrets.map((s) => [
              s.name,
              String(s.versions.length),
              String(s.versions.at(-1)?.version ?? ''),
              s.versions.at(-1)?.created ?? '',
            ]),
          ),
    );
  });

  withExample(
    withOutput(
      secret
        .command('delete <name>')
        .description('remove a secret and all its versions')
        .option('--config <file>', 'berth.yaml'),
    ),
    'berth secret delete demo-secret',
  ).action(async (name: string, options: { config?: string; output: string }) => {
    const store = await storeFor(options.config);
    const deleted = await store.delete(name).catch((error: Error) => fail(error.message));
    if (!deleted) fail(`secret ${name} is not in the secret store`);
    printResult(options.output, { name, deleted: true }, () => `${name}: deleted`);
  });
}
