import type { Command } from 'commander';
import { Option } from 'commander';
import { existsSync } from 'node:fs';
import type { LoadedConfig } from '../config/index.js';
import type * as TerminalText from '../lib/terminal-text.js';

/**
 * What makes text from sites and apps inert on a terminal (src/lib/terminal-text.ts). Loaded before a
 * command's action runs (the program's preAction hook), not for `--help`, which prints only Berth's
 * own text and loads nothing past the command line.
 */
let terminalText: typeof TerminalText | undefined;
export async function loadTerminalText(): Promise<typeof TerminalText> {
  terminalText ??= await import('../lib/terminal-text.js');
  return terminalText;
}
function inert(): typeof TerminalText {
  if (!terminalText) throw new Error('internal: terminal-text.ts is loaded before any command runs');
  return terminalText;
}

/** Appends an "Example:" section to a command's --help; every Berth command has at least one. */
export function withExample<T extends Command>(command: T, ...examples: string[]): T {
  command.addHelpText(
    'after',
    `\nExample${examples.length > 1 ? 's' : ''}:\n${examples.map((e) => `  $ ${e}`).join('\n')}\n`,
  );
  return command;
}

/** The options every server command shares: --listen, --data-dir, --config. */
export function withServerOptions<T extends Command>(command: T, defaultListen: string): T {
  command
    .option('--listen <host:port>', `address to listen on (default ${defaultListen}, loopback only)`)
    .option('--data-dir <dir>', 'where state is kept (default .berth next to the config file)')
    .option('--config <file>', 'berth.yaml to read settings from');
  return command;
}

/** `--output text|json` for commands that print results. */
export function withOutput<T extends Command>(command: T): T {
  command.addOption(
    new Option('--output <format>', 'output format').choices(['text', 'json']).default('text'),
  );
  return command;
}

/**
 * The config a command reads: --config, else BERTH_CONFIG, else ./berth.yaml when there is one, so
 * that every command run in a folder finds the same settings (and data folder) as `berth up` there.
 */
export function configFile(flag: string | undefined): string | undefined {
  return flag ?? process.env.BERTH_CONFIG ?? (existsSync('berth.yaml') ? 'berth.yaml' : undefined);
}

/** Loads the config (zod and yaml are loaded here, not at start: `berth --help` needs neither). */
export async function loadConfigOrExit(file: string | undefined): Promise<LoadedConfig> {
  const { ConfigError, loadConfig } = await import('../config/index.js');
  try {
    return loadConfig(configFile(file));
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }
}

/** Prints a message for the user and exits non-zero; for errors the user can fix. */
export function fail(message: string, code = 1): never {
  const text = terminalText ? terminalText.escapeControls(message, { keepNewlines: true }) : message;
  process.stderr.write(`berth: ${text}\n`);
  process.exit(code);
}

/** Prints a command's result; what a site or its app wrote is in it, so controls are escaped. */
export function printResult(format: string, value: unknown, text: () => string): void {
  process.stdout.write(
    format === 'json'
      ? `${inert().jsonForTerminal(value, 2)}\n`
      : `${inert().escapeControls(text(), { keepNewlines: true })}\n`,
  );
}

/** Rows as aligned text columns, two spaces apart, for `--output text`. */
export function table(head: string[], cells: string[][]): string {
  // A cell is one line: a newline or CR in a site's value cannot start a row of its own.
  const { escapeControls } = inert();
  const rows = cells.map((r) => r.map((c) => escapeControls(c)));
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [head, ...rows]
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
