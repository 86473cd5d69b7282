import type { Command } from 'commander';
import { fail, loadConfigOrExit, withOutput } from './common.js';

/** Options of the commands that talk to the console of a running `berth up`. */
export interface ConsoleOptions {
  consoleUrl?: string;
  config?: string;
  output: string;
}

/**
 * The console of a running `berth up`: --console-url, else console.listen from the config. A user and
 * password in the URL are taken out of it; `consoleAuth` sends them.
 */
export async function consoleUrl(options: ConsoleOptions): Promise<string> {
  if (options.consoleUrl) {
    const url = parseConsoleUrl(options.consoleUrl);
    url.username = '';
    url.password = '';
    return url.href.replace(/\/+$/, '');
  }
  const { config } = await loadConfigOrExit(options.config);
  const { parseListen, urlFor } = await import('../lib/listen.js');
  return urlFor(parseListen(config.console.listen), '').replace(/\/+$/, '');
}

/** Adds --console-url, --config and --output. */
export function withConsoleOptions<T extends Command>(command: T): T {
  command
    .option(
      '--console-url <url>',
      'console of a running `berth up` (default: console.listen from the config)',
    )
    .option('--config <file>', 'berth.yaml to read console.listen from');
  return withOutput(command);
}

/**
 * Headers that authenticate to a console with `console.htpasswd`: the user and password from
 * BERTH_CONSOLE_USER / BERTH_CONSOLE_PASSWORD (kept out of the process list), else from --console-url.
 */
export function consoleAuth(options: ConsoleOptions): Record<string, string> {
  const url = options.consoleUrl ? parseConsoleUrl(options.consoleUrl) : undefined;
  const user = process.env.BERTH_CONSOLE_USER ?? decodeURIComponent(url?.username ?? '');
  const password = process.env.BERTH_CONSOLE_PASSWORD ?? decodeURIComponent(url?.password ?? '');
  if (!user) return {};
  return { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}

/**
 * Headers for every request to the console's API: `X-Requested-By` (the console refuses API requests
 * that carry neither it nor a browser's `Sec-Fetch-Site`, so no web page can make a browser call it)
 * and the credentials of `consoleAuth`.
 */
export function consoleHeaders(options: ConsoleOptions): Record<string, string> {
  return { 'x-requested-by': 'berth', ...consoleAuth(options) };
}

function parseConsoleUrl(value: string): URL {
  try {
    return new URL(value);
  } catch {
    return fail(`--console-url: expected a URL such as http://127.0.0.1:8090, got "${value}"`);
  }
}
