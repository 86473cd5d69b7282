import type { Command } from 'commander';
import { configFile, printResult, withExample, withOutput } from './common.js';

export function registerConfigCommands(program: Command): void {
  const config = withExample(
    program.command('config').description('check and show berth.yaml'),
    'berth config validate examples/berth.yaml',
  );
  withExample(
    withOutput(
      config
        .command('validate [file]')
        .description(
          'validate a config file (with BERTH_* overrides applied) and print the effective settings',
        ),
    ),
    'berth config validate berth.yaml',
    'BERTH_REGISTRY__LISTEN=127.0.0.1:5001 berth config validate berth.yaml --output json',
  ).action(async (file: string | undefined, options: { output: string }) => {
    const [{ ConfigError, loadConfig, redactedConfig }, { stringify }] = await Promise.all([
      import('../config/index.js'),
      import('yaml'),
    ]);
    try {
      const loaded = loadConfig(configFile(file));
      const config = redactedConfig(loaded.config);
      // Text mode shows the effective settings too, as YAML (durations in ms, sizes in bytes).
      printResult(
        options.output,
        { valid: true, file: loaded.file ?? null, config },
        () =>
          `# ${loaded.file ?? 'defaults'}: valid; the effective settings (BERTH_* overrides applied):\n${stringify(config).trimEnd()}`,
      );
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      if (options.output === 'json')
        printResult('json', { valid: false, file: error.source, problems: error.problems }, () => '');
      else process.stderr.write(`${error.message}\n`);
      process.exitCode = 1;
    }
  });
}
