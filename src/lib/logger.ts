import { pino, type DestinationStream, type Logger } from 'pino';
import { inertJson } from './terminal-text.js';

export type { Logger };

/**
 * Paths that may carry credentials anywhere in a structured log line. pino replaces them before
 * the line is written, so a careless `log.info({ req })` still never leaks a token.
 */
const REDACT = [
  'authorization',
  'password',
  'secret',
  'token',
  'cookie',
  '*.authorization',
  '*.password',
  '*.secret',
  '*.token',
  '*.cookie',
  '*.headers.authorization',
  '*.headers.cookie',
  '*.headers["proxy-authorization"]',
  '*.headers["x-ms-token-aad-access-token"]',
];

/**
 * On a terminal, log lines (which quote what sites and clients sent) have DEL and C1 controls escaped
 * as well; pino escapes C0 itself. Elsewhere pino writes to stdout as it does by default.
 */
const terminal: DestinationStream | undefined = process.stdout.isTTY
  ? { write: (line: string) => process.stdout.write(inertJson(line)) }
  : undefined;

/** `stream`: where lines go instead of stdout (the CLI's human formatter on a terminal, see src/cli/log-format.ts). */
export function createLogger(
  options: { level?: string; name?: string; stream?: DestinationStream } = {},
): Logger {
  const settings = {
    name: options.name ?? 'berth',
    level: options.level ?? process.env.BERTH_LOG_LEVEL ?? 'info',
    redact: { paths: REDACT, censor: '[redacted]' },
  };
  if (options.stream) return pino(settings, options.stream);
  return terminal ? pino(settings, terminal) : pino(settings);
}

/** A logger that drops everything: for tests and library use where the caller passes none. */
export const silentLogger: Logger = pino({ level: 'silent' });
