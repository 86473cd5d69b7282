import type { Command } from 'commander';
import type { LogEntry } from '../logs/index.js';
import type { StartupLogInfo } from '../sites/index.js';
import type { escapeControls as Escape } from '../lib/terminal-text.js';
import { fail, loadTerminalText, printResult, table, withExample } from './common.js';
import { consoleHeaders, consoleUrl, withConsoleOptions, type ConsoleOptions } from './console-client.js';

async function request(options: ConsoleOptions, url: string, accept: string): Promise<Response> {
  try {
    return await fetch(url, { headers: { accept, ...consoleHeaders(options) } });
  } catch (error) {
    fail(
      `cannot reach the console at ${new URL(url).origin}: ${(error as Error & { cause?: Error }).cause?.message ?? (error as Error).message}. Is \`berth up\` running?`,
    );
  }
}

async function problemDetail(response: Response): Promise<string> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as { detail?: string; title?: string };
    return body.detail ?? body.title ?? text;
  } catch {
    return text || `${response.status} ${response.statusText}`;
  }
}

/** One log line as one terminal line: the app's text has its control characters escaped. */
export function formatLine(entry: LogEntry, escapeControls: typeof Escape): string {
  return escapeControls(
    `${new Date(entry.time).toISOString()} ${entry.site}/${entry.slot}/${entry.instance || '-'} ${entry.type} ${entry.level.toUpperCase().padEnd(5)} ${entry.message}`,
  );
}

interface TailOptions extends ConsoleOptions {
  name?: string;
  filter?: string;
  regex?: string;
  level?: string;
  instance?: string;
  slot?: string;
  type?: string;
  tail?: string;
}

/** Follows /api/logs/stream, reconnecting with Last-Event-ID so no line is lost or repeated. */
async function tail(options: TailOptions): Promise<void> {
  const { escapeControls, jsonForTerminal } = await loadTerminalText();
  const base = await consoleUrl(options);
  const params = new URLSearchParams();
  const pairs: Array<[string, string | undefined]> = [
    ['site', options.name],
    ['q', options.filter],
    ['regex', options.regex],
    ['level', options.level],
    ['instance', options.instance],
    ['slot', options.slot],
    ['type', options.type],
    ['tail', options.tail],
  ];
  for (const [key, value] of pairs) if (value !== undefined) params.set(key, value);
  // A filter on a site that does not exist would stream nothing, forever: say so instead.
  if (options.name !== undefined) {
    const found = await request(
      options,
      `${base}/api/sites/${encodeURIComponent(options.name)}`,
      'application/json',
    );
    // A console without the sites API (404 "no route") cannot tell: stream, as before.
    const detail = found.ok ? '' : await problemDetail(found);
    if (found.status === 404 && detail.startsWith('no site named'))
      fail(`no site named "${options.name}" (\`berth webapp list\` shows the sites)`);
    if (!found.ok && found.status !== 404) fail(detail);
  }
  let lastId: string | undefined;
  let failures = 0;
  for (;;) {
    const headers: Record<string, string> = { accept: 'text/event-stream', ...consoleHeaders(options) };
    if (lastId) headers['last-event-id'] = lastId;
    let response: Response;
    try {
      response = await fetch(`${base}/api/logs/stream?${params}`, { headers });
    } catch (error) {
      if (++failures > 5 || lastId === undefined)
        fail(
          `cannot reach the console at ${base}: ${(error as Error & { cause?: Error }).cause?.message ?? (error as Error).message}. Is \`berth up\` running?`,
        );
      await new Promise((r) => setTimeout(r, 1000));
      continue;
    }
    if (!response.ok) fail(`the console refused the stream: ${await problemDetail(response)}`);
    if (lastId === undefined)
      process.stderr.write(`Connected to ${base}; streaming logs (Ctrl-C to stop).\n`);
    failures = 0;
    for await (const event of sseEvents(response.body!)) {
      if (event.id) lastId = event.id;
      // The console ended this stream for good (its regex cost too much): reconnecting would repeat it.
      if (event.event === 'ended')
        fail(`the console ended the stream: ${(JSON.parse(event.data) as { reason: string }).reason}`);
      if (event.event === 'dropped')
        process.stderr.write(
          `berth: the stream skipped ${(JSON.parse(event.data) as { count: number }).count} line(s)\n`,
        );
      if (event.event !== 'log') continue;
      const entry = JSON.parse(event.data) as LogEntry;
      process.stdout.write(
        options.output === 'json' ? `${jsonForTerminal(entry)}\n` : `${formatLine(entry, escapeControls)}\n`,
      );
    }
    // The server ended the stream (restart or shutdown): reconnect and resume after the last line.
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Parses a text/event-stream body into events. */
async function* sseEvents(
  body: ReadableStream<Uint8Array>,
): AsyncGenerator<{ id?: string; event: string; data: string }> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let id: string | undefined;
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'id') id = value;
        else if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
      }
      if (data.length > 0) yield { id, event, data: data.join('\n') };
    }
  }
}

interface StartupOptions extends ConsoleOptions {
  name: string;
  slot?: string;
  instance?: string;
  outcome?: string;
  filename?: string;
}

async function startupList(options: StartupOptions): Promise<void> {
  const params = new URLSearchParams({ site: options.name });
  if (options.slot) params.set('slot', options.slot);
  if (options.instance) params.set('instance', options.instance);
  if (options.outcome) params.set('outcome', options.outcome);
  const response = await request(
    options,
    `${await consoleUrl(options)}/api/startuplogs?${params}`,
    'application/json',
  );
  if (response.status === 404) {
    // As `az webapp log startup list` does when the feature is missing: warn, and an empty list.
    process.stderr.write('berth: this console serves no startup logs (is the site managed by `berth up`?)\n');
    printResult(options.output, [], () => '');
    return;
  }
  if (!response.ok) fail(await problemDetail(response));
  const body = (await response.json()) as { files: StartupLogInfo[] } | StartupLogInfo[];
  const files = Array.isArray(body) ? body : body.files;
  printResult(options.output, files, () => {
    if (files.length === 0) return `No startup logs for site ${options.name}.`;
    const rows = files.map((f) => [f.name, f.outcome, f.instance, f.slot, `${f.size}`, f.modified]);
    return table(['FILE', 'OUTCOME', 'INSTANCE', 'SLOT', 'SIZE', 'MODIFIED'], rows);
  });
}

async function startupShow(options: StartupOptions): Promise<void> {
  if (options.filename && options.instance) fail('give --filename or --instance, not both');
  const params = new URLSearchParams({ site: options.name });
  if (options.slot) params.set('slot', options.slot);
  let url: string;
  if (options.filename) {
    url = `${await consoleUrl(options)}/api/startuplogs/${encodeURIComponent(options.filename)}?${params}`;
  } else {
    // With no file name the console picks the latest, preferring failures of the most recent date.
    params.set('latest', 'true');
    if (options.instance) params.set('instance', options.instance);
    url = `${await consoleUrl(options)}/api/startuplogs?${params}`;
  }
  const response = await request(options, url, 'text/plain');
  if (!response.ok) fail(await problemDetail(response));
  const content = await response.text();
  const h = (name: string) => response.headers.get(`x-startuplog-${name}`) ?? undefined;
  const result = {
    filename: h('filename'),
    date: h('date'),
    instance: h('instance'),
    outcome: h('outcome'),
    slot: h('slot'),
    content,
  };
  printResult(
    options.output,
    result,
    () =>
      `== ${result.filename} (${result.outcome}, instance ${result.instance}) ==\n${content.replace(/\n$/, '')}`,
  );
}

/** `berth webapp log ...`: attached to the webapp command group by webapp.ts. */
export function registerWebappLogCommands(webapp: Command): void {
  const log = withExample(
    webapp.command('log').description('application and startup logs of a site'),
    'berth webapp log tail --name api',
  );

  withExample(
    withConsoleOptions(
      log
        .command('tail')
        .description('stream log lines as they are written (live, from the console)')
        .option('--name <site>', 'only this site')
        .option('--filter <words>', 'only lines with these words or "a phrase"')
        .option('--regex <pattern>', 'only lines matching this regular expression')
        .option('--level <level>', 'minimum level: trace, debug, info, warn, error, fatal')
        .option('--instance <id>', 'only this instance')
        .option('--slot <slot>', 'only this slot')
        .option('--type <type>', 'application or platform')
        .option('--tail <n>', 'first print the last n matching lines (0-1000)'),
    ),
    'berth webapp log tail --name api --level warn',
    'berth webapp log tail --name api --filter "connection refused" --output json',
  ).action((options: TailOptions) => tail(options));

  const startup = withExample(
    log.command('startup').description('startup logs: one file per start attempt of each instance'),
    'berth webapp log startup list --name api --outcome failure',
  );

  withExample(
    withConsoleOptions(
      startup
        .command('list')
        .description('list startup logs with outcome, instance and size')
        .requiredOption('--name <site>', 'the site')
        .option('--instance <id>', 'only this instance')
        .option('--outcome <outcome>', 'failure or success')
        .option('--slot <slot>', 'the slot (default: all)'),
    ),
    'berth webapp log startup list --name api --outcome failure',
  ).action((options: StartupOptions) => {
    if (options.outcome && options.outcome !== 'failure' && options.outcome !== 'success')
      fail('--outcome must be failure or success');
    return startupList(options);
  });

  withExample(
    withConsoleOptions(
      startup
        .command('show')
        .description(
          'show one startup log; with no --filename, the latest (failures of the most recent date first)',
        )
        .requiredOption('--name <site>', 'the site')
        .option('--filename <file>', 'the log to show, e.g. 2026_11_26_a1b2c3d4_failure.log')
        .option('--instance <id>', 'the latest log of this instance')
        .option('--slot <slot>', 'the slot (default production)'),
    ),
    'berth webapp log startup show --name api',
    'berth webapp log startup show --name api --filename 2026_11_26_a1b2c3d4_failure.log',
  ).action((options: StartupOptions) => startupShow(options));
}
