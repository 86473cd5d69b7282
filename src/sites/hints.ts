/** What a failed (or suspicious) start attempt looked like, for the hints in its startup log. */
export interface AttemptFacts {
  command: string;
  expectedPort: number;
  outcome: 'success' | 'failure';
  /** Why the attempt ended when it failed. */
  failure?: 'exited' | 'timeout' | 'spawn-error' | 'stopped' | 'secret-reference';
  /** The reference that did not resolve (failure 'secret-reference'): names only, never a value. */
  secretReference?: string;
  exitCode?: number | null;
  signal?: string | null;
  spawnError?: string;
  startTimeLimitMs: number;
  /** The app's output lines, stdout and stderr, in order (the first ones). */
  output: string[];
  /** The last lines the app wrote to stderr. */
  stderrTail: string[];
  /** Ports the process group was listening on when the attempt ended (from /proc). */
  listeningPorts: number[];
  lastProbe?: string;
}

/** "listening on 3000", "Listening on port 3000", "running at http://0.0.0.0:3000", "bound to :3000". */
const PORT_IN_OUTPUT =
  /\b(?:listen(?:ing)?|running|started|serving|bound|server)\b[^\n]{0,60}?(?:\bport\b\s*[:=]?\s*|https?:\/\/[^\s/:]*:|[\s[]:|\b(?:on|at)\s+)(\d{2,5})\b/i;

/** Ports an app said it listens on, in the order it said so. */
export function portsFromOutput(lines: string[]): number[] {
  const ports: number[] = [];
  for (const line of lines) {
    const match = PORT_IN_OUTPUT.exec(line);
    const port = match ? Number(match[1]) : NaN;
    if (port > 0 && port < 65536 && !ports.includes(port)) ports.push(port);
  }
  return ports;
}

const MODULE_NOT_FOUND = [
  /Cannot find module '([^']+)'/,
  /Cannot find package '([^']+)'/,
  /ModuleNotFoundError: No module named '([^']+)'/,
  /ImportError: No module named ([\w.]+)/,
  /cannot load such file -- (\S+)/,
];

/** Plain-language hints for the common reasons a start fails, most specific first. */
export function hintsFor(facts: AttemptFacts): string[] {
  const hints: string[] = [];
  const said = portsFromOutput(facts.output).filter((p) => p !== facts.expectedPort);
  const listening = facts.listeningPorts.filter((p) => p !== facts.expectedPort);
  const listensOnExpected = facts.listeningPorts.includes(facts.expectedPort);
  if (!listensOnExpected && (said.length > 0 || listening.length > 0)) {
    const evidence = [
      ...(said.length > 0 ? [`its output says it listens on ${said.join(', ')}`] : []),
      ...(listening.length > 0 ? [`its process has a listening socket on ${listening.join(', ')}`] : []),
    ].join(' and ');
    hints.push(
      `Wrong port: the platform expects the app on port ${facts.expectedPort}, but ${evidence}. ` +
        `Read the port from the PORT (or WEBSITES_PORT) environment variable instead of hard-coding it.`,
    );
  }
  const text = [...facts.output, ...facts.stderrTail].join('\n');
  if (facts.failure === 'spawn-error') {
    const advice = /working directory/.test(facts.spawnError ?? '')
      ? " Check that the site's folder exists."
      : /E2BIG/.test(facts.spawnError ?? '')
        ? ' Make the app settings smaller (a large value is better kept in a file the app reads).'
        : " Check the site's command, folder and app settings.";
    hints.push(`The platform could not start the command: ${facts.spawnError}.${advice}`);
  }
  // dash: "/bin/sh: 1: foo: not found", or "berth-instance: 1: eval: foo: not found" from the instance's
  // own shell (watcher.ts); bash: "bash: line 1: foo: command not found"; exec: "foo: No such file or directory".
  const shell = String.raw`(?:^|\n)(?:\S*sh|berth-instance): (?:\d+: |line \d+: )?(?:eval: )?([^:\n]+): `;
  const notFound =
    new RegExp(`${shell}(?:command )?not found`).exec(text) ??
    new RegExp(`${shell}No such file or directory`).exec(text);
  if (facts.exitCode === 127 || (notFound && facts.failure === 'exited')) {
    const name = notFound?.[1] ?? facts.command.split(/\s+/)[0];
    hints.push(
      `Command not found: "${name}" could not be run (exit code ${facts.exitCode ?? 'none'}). Check the start command "${facts.command}" and that the program is installed and on PATH.`,
    );
  }
  for (const pattern of MODULE_NOT_FOUND) {
    const match = pattern.exec(text);
    if (match) {
      hints.push(
        `Module not found: the app needs "${match[1]}", which is not in the deployed package. Install dependencies (for example npm install / pip install -r requirements.txt) before deploying, or add the missing file.`,
      );
      break;
    }
  }
  if (facts.failure === 'exited') {
    const how = facts.signal ? `was killed by ${facts.signal}` : `exited with code ${facts.exitCode}`;
    const tail = facts.stderrTail.slice(-5);
    hints.push(
      `Process exited: the app ${how} before it answered the warmup probe.` +
        (tail.length > 0
          ? ` Last lines on stderr:\n${tail.map((l) => `    ${l}`).join('\n')}`
          : ' It wrote nothing to stderr.'),
    );
  }
  if (facts.failure === 'secret-reference') {
    hints.push(
      `Key Vault reference: ${facts.secretReference ?? 'a secret reference'}. The instance was not started. ` +
        'Add the secret with `berth secret set <name>` (reads the value from stdin) or fix the reference; `berth secret list` shows the names and versions the store has.',
    );
  }
  if (facts.failure === 'timeout') {
    hints.push(
      `Start time limit passed: the app did not answer the warmup probe on port ${facts.expectedPort} within ${(facts.startTimeLimitMs / 1000).toFixed(1)} s` +
        (facts.lastProbe ? ` (last probe: ${facts.lastProbe})` : '') +
        `. If it needs longer, raise startTimeLimit (WEBSITES_CONTAINER_START_TIME_LIMIT in App Service); if it never listens, check that it starts an HTTP server.`,
    );
  }
  return hints;
}
