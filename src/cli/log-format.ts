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
  const { default: build } = await import('pino-pretty');
  return build({
    sync: true,
    colorize: process.stdout.isTTY === true,
    translateTime: 'SYS:HH:MM:ss.l',
    singleLine: true,
    ignore: 'pid,hostname,name,part',
    messageFormat: '{if part}{part}: {end}{msg}',
  });
}
