import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Logger } from '../lib/logger.js';
import type { LogSink } from '../logs/index.js';
import { pipeLines } from './lines.js';
import type { ProcessRecords } from './process-records.js';
import { freePort, listeningPorts } from './ports.js';
import { killCarriers, killCarriersSync, MARKER_ENV, newMarker, signalCarriers } from './escaped.js';
import { groupHasLiveMembers } from './procfs.js';
import { describeProbe, probe } from './probe.js';
import { StartupAttempt } from './startup-log.js';
import type { StartupLogs } from './startup-logs.js';
import type { InstanceState, InstanceStatus } from './types.js';
import { WITH_WATCHER } from './watcher.js';
import { moduleFenceEnv } from './fence.js';

/** What an instance runs: one version of a site with one set of app settings. */
export interface InstanceSpec {
  site: string;
  command: string;
  cwd: string;
  settings: Record<string, string>;
  version: string;
  startTimeLimit: number;
  warmupPath: string;
  warmupStatuses: number[];
  healthCheckPath?: string;
  healthCheckInterval: number;
  healthCheckMaxFailures: number;
  stopGracePeriod: number;
}

/**
 * Requests in flight per instance, as whatever routes to instances counts them (the front door).
 * Sites ask it when they drain an instance; without a front door nothing is ever in flight.
 */
export interface Traffic {
  /** Resolves true once `instance` has no request in flight, false if `timeoutMs` passes first. */
  whenIdle(instance: Instance, timeoutMs: number): Promise<boolean>;
}

/** Nothing routes to instances (no front door yet): every instance is idle. */
export const NO_TRAFFIC: Traffic = { whenIdle: () => Promise.resolve(true) };

export interface InstanceServices {
  sink: LogSink;
  startupLogs: StartupLogs;
  logger: Logger;
  /** Where each spawned process group is noted, so a later run can stop what a crashed one left. */
  records?: ProcessRecords;
  /** Restart delays after a crash: base * 2^(failures-1), capped. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Requests in flight per instance (the front door's count): draining waits on it. None: nothing routes. */
  traffic?: Traffic;
  /**
   * Turns app settings into environment values: secret references resolved (from the secrets
   * part, wired in by `berth up`). Throws, with a message naming the reference, when one does not.
   */
  resolveSettings?: (settings: Record<string, string>) => Promise<Record<string, string>>;
}

export interface LaunchResult {
  ok: boolean;
  startupLog?: string;
  hints: string[];
  reason?: string;
}

/** An instance that stayed up this long counts as healthy again, so its next crash restarts quickly. */
const STABLE_AFTER_MS = 30_000;
/** Environment an app needs to run at all; everything else comes from its app settings. */
const INHERITED_ENV = ['PATH', 'HOME', 'LANG', 'TZ', 'TMPDIR', 'NODE_EXTRA_CA_CERTS'];

/**
 * One process of a site: started with PORT, warmed with the probe, watched by health checks and
 * restarted with exponential backoff when supervised. Every attempt writes a startup log.
 */
export class Instance {
  readonly id = randomBytes(4).toString('hex');
  state: InstanceState = 'stopped';
  port = 0;
  pid?: number;
  startedAt?: Date;
  restarts = 0;
  lastStartupLog?: string;
  private child?: ChildProcess;
  private stopping = false;
  private supervised = false;
  private consecutiveFailures = 0;
  private timers = new Set<NodeJS.Timeout>();
  private attempt?: StartupAttempt;
  private exited?: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The current start's marker (escaped.ts): finds its processes that left the group. */
  private marker?: string;
  /** Resolves once the current start's processes are all gone, escaped ones included. */
  private cleanedUp?: Promise<void>;
  /** The kill in progress, if any. */
  private killing?: Promise<void>;

  constructor(
    readonly spec: InstanceSpec,
    private readonly services: InstanceServices,
    /** The slot this instance serves; changes when a swap moves it. */
    public slot: string,
  ) {}

  get routable(): boolean {
    return this.state === 'running';
  }

  status(): InstanceStatus {
    return {
      id: this.id,
      state: this.state,
      port: this.port,
      ...(this.pid ? { pid: this.pid } : {}),
      ...(this.startedAt ? { startedAt: this.startedAt.toISOString() } : {}),
      restarts: this.restarts,
      version: this.spec.version,
    };
  }

  /**
   * Taken out of the rotation to be stopped (a roll or scale-in): it finishes its in-flight requests
   * and is no longer restarted if it crashes meanwhile.
   */
  drain(): void {
    this.supervised = false;
    if (this.state === 'running' || this.state === 'unhealthy') this.state = 'draining';
  }

  /** From now on a crash, a failed start or failing health checks lead to a restart. */
  supervise(): void {
    this.supervised = true;
  }

  /** One start attempt: spawn, warm up, write the startup log. */
  async launch(): Promise<LaunchResult> {
    const { spec } = this;
    this.port = await freePort();
    const attempt = new StartupAttempt(
      this.services.startupLogs.folder(spec.site, this.slot),
      spec.site,
      this.slot,
      this.id,
      this.services.sink,
    );
    this.attempt = attempt;
    this.state = 'starting';
    const started = performance.now();
    const elapsed = () => ((performance.now() - started) / 1000).toFixed(2);
    attempt.step(
      `Starting instance ${this.id} of site ${spec.site} (slot ${this.slot}), version ${spec.version}, attempt ${this.restarts + 1}.`,
    );
    attempt.step(`Command: ${spec.command}`);
    attempt.step(`Working directory: ${spec.cwd}`);
    const names = Object.keys(spec.settings).sort();
    attempt.step(
      `App settings given (names only; values are never logged): ${names.length > 0 ? names.join(', ') : '(none)'}`,
    );
    attempt.step(
      `Modules: a Node.js app sees only the packages in ${spec.cwd} (node_modules folders above it are fenced off).`,
    );
    attempt.step(`Port: PORT=${this.port} and WEBSITES_PORT=${this.port}; the app must listen on it.`);

    let settings = spec.settings;
    try {
      if (this.services.resolveSettings) settings = await this.services.resolveSettings(spec.settings);
    } catch (error) {
      const message = (error as Error).message;
      attempt.step(message, 'error');
      const facts = { command: spec.command, expectedPort: this.port, startTimeLimitMs: spec.startTimeLimit };
      return this.endAttempt(
        attempt,
        {
          ...facts,
          listeningPorts: [],
          outcome: 'failure',
          failure: 'secret-reference',
          secretReference: message,
        },
        message,
      );
    }
    const env: NodeJS.ProcessEnv = {};
    for (const key of INHERITED_ENV) if (process.env[key] !== undefined) env[key] = process.env[key];
    Object.assign(env, settings, {
      PORT: String(this.port),
      WEBSITES_PORT: String(this.port),
      WEBSITE_SITE_NAME: spec.site,
      WEBSITE_SLOT_NAME: this.slot,
      WEBSITE_INSTANCE_ID: this.id,
      WEBSITE_HOSTNAME: `${spec.site}.localhost`,
    });
    Object.assign(env, await moduleFenceEnv(spec.cwd, spec.settings.NODE_OPTIONS));
    // Set last, so that no app setting can replace it.
    const marker = newMarker();
    env[MARKER_ENV] = marker;

    const facts = {
      command: spec.command,
      expectedPort: this.port,
      startTimeLimitMs: spec.startTimeLimit,
      listeningPorts: [] as number[],
    };
    const spawnFailed = (spawnError: string) => {
      attempt.step(`The process could not be started: ${spawnError}`, 'error');
      return this.endAttempt(
        attempt,
        { ...facts, outcome: 'failure', failure: 'spawn-error', spawnError },
        spawnError,
      );
    };
    let spawnError: string | undefined;
    let child: ChildProcess;
    try {
      // The marker travels in the environment only: a command line is visible to every user.
      child = spawn('/bin/sh', ['-c', WITH_WATCHER, 'berth-instance', spec.command], {
        cwd: spec.cwd,
        env,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      });
    } catch (error) {
      // Arguments spawn refuses before any process exists (a NUL byte, a value that is not a string).
      return spawnFailed(describeSpawnError(error, spec.cwd));
    }
    this.child = child;
    this.marker = marker;
    // Berth's end of the watcher's lifeline: never written, only held open (and closed by the kernel when Berth dies).
    child.stdio[3]?.on('error', () => undefined);
    const spawned = new Promise<boolean>((resolve) => {
      child.once('spawn', () => resolve(true));
      child.once('error', (error) => {
        spawnError = describeSpawnError(error, spec.cwd);
        resolve(false);
      });
    });
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    for (const stream of ['stdout', 'stderr'] as const) {
      pipeLines(child[stream]!, (line) => {
        this.services.sink.write({
          site: spec.site,
          slot: this.slot,
          instance: this.id,
          type: 'application',
          stream,
          message: line,
        });
        this.attempt?.appOutput(stream, line);
      });
    }
    if (!(await spawned)) return spawnFailed(spawnError!);
    this.pid = child.pid;
    const pgid = child.pid!;
    liveGroups.set(pgid, marker);
    void this.services.records?.add({ instance: this.id, site: spec.site, slot: this.slot, pgid, marker });
    this.cleanedUp = this.exited
      .then(async () => {
        // The instance is its process group: what the app left behind (and the watcher) goes with it,
        // and so does what left the group. The record stays until then, for a Berth killed meanwhile.
        signalGroup(pgid, 'SIGKILL');
        const escaped = await killCarriers(new Map([[marker, pgid]]));
        if (escaped.length > 0) this.reportEscaped(escaped, 'SIGKILL');
        liveGroups.delete(pgid);
        // Awaited: a stop returns only once the record is gone too (remove() never throws).
        await this.services.records?.remove(this.id);
      })
      .catch((error) =>
        this.services.logger.error(
          { err: error, site: spec.site, instance: this.id },
          'instance cleanup failed',
        ),
      );
    attempt.step(`Process started (pid ${child.pid}).`);
    this.state = 'warming';
    attempt.step(
      `Initiating warmup probe: GET ${spec.warmupPath} on port ${this.port}; ${spec.warmupStatuses.length > 0 ? `status ${spec.warmupStatuses.join('/')}` : 'any HTTP response'} means ready; time limit ${(spec.startTimeLimit / 1000).toFixed(1)} s.`,
    );

    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    void this.exited.then((e) => (exit = e));
    const deadline = started + spec.startTimeLimit;
    let probeNumber = 0;
    let repeated = { text: '', first: 0, count: 0 };
    const flushRepeated = () => {
      if (repeated.count > 1)
        attempt.step(
          `Warmup probes ${repeated.first}-${repeated.first + repeated.count - 1}: ${repeated.text} (same result each time).`,
        );
      else if (repeated.count === 1) attempt.step(`Warmup probe ${repeated.first}: ${repeated.text}.`);
      repeated = { text: '', first: 0, count: 0 };
    };
    let lastPortCheck = performance.now();
    let lastProbe: string | undefined;
    while (!this.stopping && !exit && performance.now() < deadline) {
      probeNumber++;
      const result = await probe(
        this.port,
        spec.warmupPath,
        Math.max(100, Math.min(2000, deadline - performance.now())),
      );
      lastProbe = describeProbe(result);
      const text = result.status !== undefined ? `HTTP ${result.status}` : (result.error ?? 'no answer');
      if (text === repeated.text) repeated.count++;
      else {
        flushRepeated();
        repeated = { text, first: probeNumber, count: 1 };
      }
      const ready =
        result.status !== undefined &&
        (spec.warmupStatuses.length === 0 || spec.warmupStatuses.includes(result.status));
      if (ready) {
        flushRepeated();
        attempt.step(`Site startup probe succeeded after ${elapsed()} seconds.`);
        attempt.step(`Instance ${this.id} is ready to serve requests on port ${this.port}.`);
        this.state = 'running';
        this.startedAt = new Date();
        const done = await this.endAttempt(attempt, { ...facts, outcome: 'success' });
        this.watch();
        return done;
      }
      if (performance.now() - lastPortCheck > 5000 && this.pid) {
        lastPortCheck = performance.now();
        const ports = await listeningPorts(this.pid);
        if (ports.length > 0 && !ports.includes(this.port)) {
          flushRepeated();
          attempt.step(
            `The process listens on port ${ports.join(', ')}, not on ${this.port}; still waiting.`,
            'warn',
          );
        }
      }
      // Probe often at first so fast apps are in rotation quickly, then once a second.
      const pause = performance.now() - started < 5000 ? 100 : 1000;
      await Promise.race([this.sleep(pause), this.exited]);
    }
    flushRepeated();
    if (this.stopping) {
      attempt.step('Site startup cancelled: the instance was stopped while it started.', 'warn');
      await this.kill();
      return this.endAttempt(
        attempt,
        { ...facts, outcome: 'failure', failure: 'stopped', lastProbe },
        'stopped while starting',
      );
    }
    if (exit) {
      await this.settleOutput();
      const how = exit.signal ? `signal ${exit.signal}` : `exit code: ${exit.code}`;
      attempt.step(
        `Container has finished running with ${how}; site startup failed after ${elapsed()} seconds.`,
        'error',
      );
      return this.endAttempt(
        attempt,
        {
          ...facts,
          outcome: 'failure',
          failure: 'exited',
          exitCode: exit.code,
          signal: exit.signal,
          lastProbe,
        },
        `the process exited (${how})`,
      );
    }
    const ports = this.pid ? await listeningPorts(this.pid) : [];
    attempt.step(
      `Site startup probe failed after ${elapsed()} seconds: did not start within the expected time limit.`,
      'error',
    );
    if (ports.length > 0)
      attempt.step(`Listening sockets of the process: ${ports.join(', ')} (expected ${this.port}).`, 'error');
    await this.kill();
    return this.endAttempt(
      attempt,
      { ...facts, outcome: 'failure', failure: 'timeout', listeningPorts: ports, lastProbe },
      'start time limit passed',
    );
  }

  private async endAttempt(
    attempt: StartupAttempt,
    facts: Parameters<StartupAttempt['finish']>[0],
    reason?: string,
  ): Promise<LaunchResult> {
    let written: { file: string; hints: string[] } = { file: '', hints: [] };
    try {
      written = await attempt.finish(facts);
      this.lastStartupLog = written.file;
    } catch (error) {
      this.services.logger.error(
        { err: error, site: this.spec.site, instance: this.id },
        'cannot write startup log',
      );
    }
    if (this.attempt === attempt) this.attempt = undefined;
    if (facts.outcome === 'failure' && !this.stopping) {
      this.state = 'crashed';
      this.child = undefined;
      this.pid = undefined;
      if (this.supervised && !this.stopping) this.scheduleRestart();
    }
    return {
      ok: facts.outcome === 'success',
      startupLog: written.file || undefined,
      hints: written.hints,
      ...(reason ? { reason } : {}),
    };
  }

  /** After a successful start: restart on crash, run health checks. */
  private watch(): void {
    const startedAt = Date.now();
    void this.exited!.then(({ code, signal }) => {
      if (this.stopping) return;
      if (this.state === 'unhealthy')
        this.platform(`Instance ${this.id} stopped after failing its health checks.`, 'warn');
      else
        this.platform(
          `Instance ${this.id} exited with ${signal ? `signal ${signal}` : `code ${code}`} while running.`,
          'error',
        );
      this.state = 'crashed';
      this.child = undefined;
      this.pid = undefined;
      if (Date.now() - startedAt > STABLE_AFTER_MS) this.consecutiveFailures = 0;
      if (this.supervised) this.scheduleRestart();
    });
    const { healthCheckPath, healthCheckInterval, healthCheckMaxFailures } = this.spec;
    if (!healthCheckPath) return;
    let failures = 0;
    const child = this.child;
    const check = async () => {
      if (this.child !== child || this.state !== 'running') return clearInterval(timer);
      const result = await probe(
        this.port,
        healthCheckPath,
        Math.min(healthCheckInterval, 5000),
        'Berth-HealthCheck/1.0',
      );
      const healthy = result.status !== undefined && result.status >= 200 && result.status < 400;
      if (healthy) {
        failures = 0;
        return;
      }
      failures++;
      this.platform(
        `Health check ${failures}/${healthCheckMaxFailures} failed: GET ${healthCheckPath} -> ${describeProbe(result)}.`,
        'warn',
      );
      if (failures >= healthCheckMaxFailures && this.child === child && this.state === 'running') {
        clearInterval(timer);
        this.state = 'unhealthy';
        this.platform(
          `Instance ${this.id} left the rotation after ${failures} failed health checks and is being restarted.`,
          'error',
        );
        // The exit handler above restarts it.
        await this.kill();
      }
    };
    // A check that throws (it should not: probe() reports failures as results) is logged, not left unhandled.
    const timer = setInterval(() => {
      check().catch((error: unknown) => this.platform(`Health check error: ${String(error)}`, 'error'));
    }, healthCheckInterval);
    timer.unref();
    this.timers.add(timer);
  }

  private scheduleRestart(): void {
    this.consecutiveFailures++;
    const base = this.services.backoffBaseMs ?? 1000;
    const delay = Math.min(base * 2 ** (this.consecutiveFailures - 1), this.services.backoffMaxMs ?? 60_000);
    this.state = 'backoff';
    this.platform(
      `Restarting instance ${this.id} in ${(delay / 1000).toFixed(1)} s (failure ${this.consecutiveFailures} in a row).`,
      'warn',
    );
    void this.sleep(delay).then(async () => {
      if (this.stopping) return;
      this.restarts++;
      await this.launch().catch((error) =>
        this.services.logger.error({ err: error, instance: this.id }, 'restart failed'),
      );
    });
  }

  /** Stops the process: SIGTERM to its process group, SIGKILL after the grace period. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    if (this.child) {
      this.state = 'stopping';
      this.platform(
        `Instance ${this.id} is terminating. Grace period: ${(this.spec.stopGracePeriod / 1000).toFixed(1)} seconds.`,
      );
      await this.kill();
    }
    this.state = 'stopped';
  }

  /** One kill at a time: a stop while starting (or a second stop) joins it instead of signalling again. */
  private kill(): Promise<void> {
    this.killing ??= this.terminate().finally(() => (this.killing = undefined));
    return this.killing;
  }

  private async terminate(): Promise<void> {
    const child = this.child;
    const cleanedUp = this.cleanedUp;
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null) {
      await cleanedUp;
      return;
    }
    const exited = this.exited!;
    signalGroup(child.pid, 'SIGTERM');
    // Processes that left the group get SIGTERM too, now; SIGKILL follows when the group's does (the
    // main process exited or the grace period passed), in the exit handler of launch().
    const termed = signalCarriers(new Map([[this.marker!, child.pid]]), 'SIGTERM').then((pids) => {
      if (pids.length > 0) this.reportEscaped(pids, 'SIGTERM');
    });
    const timer = setTimeout(() => signalGroup(child.pid!, 'SIGKILL'), this.spec.stopGracePeriod);
    await exited;
    clearTimeout(timer);
    // Whatever else the app started in its group goes too, before the stop counts as done (a roll
    // starts the next instance right after, and promises never to run more than count + 1).
    signalGroup(child.pid, 'SIGKILL');
    await Promise.all([groupGone(child.pid, 2000), termed, cleanedUp]);
    this.child = undefined;
    this.pid = undefined;
  }

  /** Pids only: the marker's value is never logged. */
  private reportEscaped(pids: number[], signal: NodeJS.Signals): void {
    this.platform(
      `Sent ${signal} to ${pids.length} process${pids.length > 1 ? 'es' : ''} of instance ${this.id} outside its process group (pids ${pids.join(', ')}): started with setsid or detached, found by the instance's marker.`,
      'warn',
    );
  }

  /** Lets the last output lines of an exited process arrive before the log is written. */
  private async settleOutput(): Promise<void> {
    const child = this.child;
    if (!child) return;
    await Promise.race([new Promise((resolve) => child.once('close', resolve)), this.sleep(300)]);
  }

  private platform(message: string, level: 'info' | 'warn' | 'error' = 'info'): void {
    this.services.sink.write({
      site: this.spec.site,
      slot: this.slot,
      instance: this.id,
      type: 'platform',
      level,
      message,
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }
}

/**
 * Why a start failed before the process ran, in words for the startup log. Node's own messages for
 * refused arguments quote the value (an app setting's value may be a secret), so only their first
 * sentence, which names the argument, is kept.
 */
function describeSpawnError(error: unknown, cwd: string): string {
  const { code, message } = error as NodeJS.ErrnoException;
  if (code === 'ENOENT') return `working directory ${cwd} does not exist`;
  if (code === 'E2BIG')
    return 'the command and app settings together are larger than the system allows for a new process (E2BIG)';
  const first = String(message).split(/\. Received\b/)[0]!;
  return code ? `${first} (${code})` : first;
}

/**
 * Process groups of running instances, with their markers. Instances run in their own groups (so a
 * stop reaches what they started), which also means they would outlive Berth if it exited without
 * stopping them: on exit every group still listed is killed (process.kill is synchronous, so it works
 * there), and the processes that left those groups too, found by a synchronous /proc scan. The
 * watchers would do the same, but the group kill ends them first.
 */
const liveGroups = new Map<number, string>();
process.once('exit', () => {
  if (liveGroups.size === 0) return;
  for (const pgid of liveGroups.keys()) signalGroup(pgid, 'SIGKILL');
  killCarriersSync(new Map([...liveGroups].map(([pgid, marker]) => [marker, pgid])));
});

/**
 * Waits (up to `timeoutMs`) until no live process is left in the group; SIGKILL takes a moment to land.
 * Signal 0 answers ESRCH once the group is empty (one system call). Killed members the group leader
 * did not reap become zombies of init, which may reap them late (seconds here; never under an init
 * that does not reap), so when signal 0 still finds members, /proc says whether any is alive.
 */
async function groupGone(pgid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  // A moment for SIGKILL to land first: reading /proc costs far more CPU than the wait.
  const pause = () => new Promise((r) => setTimeout(r, 15));
  if (groupExists(pgid)) await pause();
  while (groupExists(pgid) && (await groupHasLiveMembers(pgid)) && Date.now() < deadline) await pause();
}

function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    /* already gone */
  }
}
