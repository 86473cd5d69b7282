import { Option, type Command } from 'commander';
import type { DestinationStream } from 'pino';

export type LogFormat = 'auto' | 'json' | 'pretty';

/** `--log-format auto|json|pretty`: human lines on a terminal, JSON records when piped (auto). */
export function withLogFormat<T extends Command>(command: T): T {
  command.addOption(
    new Option('--log-format <format>', 'log lines: human on a terminal, JSON when piped (auto)')
      .choices(['auto', 'json', 'pretty'])
      .default('auto'),
  );
  return command;
}

/**
 * The stream `createLogger` writes to for a format, or undefined for pino's own JSON on stdout.
 * pino-pretty (loaded only here, only for a terminal) formats in-process and synchronously, so a
 * line is on screen before the next step and none is lost at exit.
 */
export async function logStream(format: LogFormat): Promise<DestinationStream | undefined> {
  const pretty = format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true);
  if (!pretty) return undefined;
  const [{ default: build }, { escapeControls }] = await Promise.all([
    import('pino-pretty'),
    import('../lib/terminal-text.js'),
  ]);
  const formatter = build({
    sync: true,
    colorize: process.stdout.isTTY === true,
    translateTime: 'SYS:HH:MM:ss.l',
    singleLine: true,
    ignore: 'pid,hostname,name,part',
    messageFormat: '{if part}{part}: {end}{msg}',
  });
  // pino-pretty decodes the JSON it is given, so a control character a site or client sent (JSON
  // has it as \u001b) would reach the terminal raw: every string in the record is made inert first.
  return { write: (line: string) => formatter.write(inertRecord(line, escapeControls)) };
}

function inertRecord(line: string, escape: (text: string) => string): string {
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch {
    return escape(line.replace(/\n$/, '')) + '\n';
  }
  const inert = (value: unknown): unknown =>
    typeof value === 'string'
      ? escape(value)
      : Array.isArray(value)
        ? value.map(inert)
        : value !== null && typeof value === 'object'
          ? Object.fromEntries(Object.entries(value).map(([k, v]) => [escape(k), inert(v)]))
          : value;
  return `${JSON.stringify(inert(record))}\n`;
}
