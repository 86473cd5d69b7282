import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { LogLevel, LogSink } from '../logs/index.js';
import { hintsFor, type AttemptFacts } from './hints.js';

/** How much of the app's first output a startup log keeps. */
const FIRST_OUTPUT_LINES = 100;
const STDERR_TAIL_LINES = 20;

export function startupLogName(date: Date, instance: string, outcome: 'success' | 'failure'): string {
  const day = date.toISOString().slice(0, 10).replaceAll('-', '_');
  return `${day}_${instance}_${outcome}.log`;
}

/**
 * One start attempt of one instance. Platform steps go to the log sink at once (platform logs) and
 * into the startup log file when the attempt ends, together with the app's first output and hints.
 */
export class StartupAttempt {
  readonly startedAt = new Date();
  private readonly lines: string[] = [];
  readonly output: string[] = [];
  readonly stderrTail: string[] = [];
  private outputDropped = 0;
  private finished = false;

  constructor(
    private readonly folder: string,
    private readonly site: string,
    private readonly slot: string,
    private readonly instance: string,
    private readonly sink: LogSink,
  ) {}

  step(message: string, level: LogLevel = 'info'): void {
    const now = new Date();
    this.lines.push(`${now.toISOString()} ${level.toUpperCase().padEnd(5)} - ${message}`);
    this.sink.write({
      time: now.getTime(),
      site: this.site,
      slot: this.slot,
      instance: this.instance,
      type: 'platform',
      level,
      message,
    });
  }

  /** Called for every line the app writes while it starts; keeps the first ones and the stderr tail. */
  appOutput(stream: 'stdout' | 'stderr', line: string): void {
    if (this.finished) return;
    if (this.output.length < FIRST_OUTPUT_LINES)
      this.output.push(stream === 'stderr' ? `[stderr] ${line}` : line);
    else this.outputDropped++;
    if (stream === 'stderr') {
      this.stderrTail.push(line);
      if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift();
    }
  }

  /** Writes (appends) `YYYY_MM_DD_<instance>_<outcome>.log` and returns its name. */
  async finish(
    facts: Omit<AttemptFacts, 'output' | 'stderrTail'>,
  ): Promise<{ file: string; hints: string[] }> {
    this.finished = true;
    const outputForHints = this.output.map((l) => (l.startsWith('[stderr] ') ? l.slice(9) : l));
    const hints = hintsFor({ ...facts, output: outputForHints, stderrTail: this.stderrTail });
    for (const hint of hints)
      this.sink.write({
        site: this.site,
        slot: this.slot,
        instance: this.instance,
        type: 'platform',
        level: facts.outcome === 'failure' ? 'error' : 'warn',
        message: `HINT: ${hint}`,
      });
    const file = startupLogName(this.startedAt, this.instance, facts.outcome);
    const text = [
      `===== Start attempt of instance ${this.instance} (site ${this.site}, slot ${this.slot}) at ${this.startedAt.toISOString()}: ${facts.outcome.toUpperCase()} =====`,
      ...this.lines,
      '',
      `----- App output (first ${FIRST_OUTPUT_LINES} lines) -----`,
      ...(this.output.length > 0 ? this.output : ['(the app wrote nothing)']),
      ...(this.outputDropped > 0 ? [`(${this.outputDropped} more lines are in the application log)`] : []),
      '',
      '----- Hints -----',
      ...(hints.length > 0 ? hints.map((h) => `HINT: ${h}`) : ['(none)']),
      '',
      '',
    ].join('\n');
    await mkdir(this.folder, { recursive: true });
    await appendFile(join(this.folder, file), text);
    return { file, hints };
  }
}
