// Starts the registries the e2e tests and the benchmark talk to, as real processes on loopback:
// Berth through its own command, Debian's docker-registry (CNCF distribution 2.8) and nginx.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const BERTH_BIN = join(REPO_ROOT, 'bin/berth');

export interface RunningRegistry {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `127.0.0.1:<port>`, for skopeo's docker:// references. */
  host: string;
  pid: number;
  /** Everything the process wrote so far (stdout and stderr). */
  output(): string;
  stop(): Promise<void>;
}

/** The path of a command on PATH, or undefined. Tests skip with the apt-get line when it is missing. */
export function which(command: string): string | undefined {
  const result = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

export function missingTools(...commands: string[]): string | undefined {
  const missing = commands.filter((c) => !which(c));
  if (missing.length === 0) return undefined;
  const packages: Record<string, string> = {
    'docker-registry': 'docker-registry',
    nginx: 'nginx',
    skopeo: 'skopeo',
    umoci: 'umoci',
    buildah: 'buildah',
    podman: 'podman',
    curl: 'curl',
  };
  return `${missing.join(', ')} not installed: apt-get install ${missing.map((m) => packages[m] ?? m).join(' ')}`;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

function capture(child: ChildProcess): () => string {
  let text = '';
  child.stdout?.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (text += d.toString()));
  return () => text;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

async function waitForHttp(
  url: string,
  child: ChildProcess,
  output: () => string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`process exited with ${child.exitCode} before serving ${url}:\n${output()}`);
    try {
      await fetch(url, { signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`nothing answered at ${url} within ${timeoutMs} ms:\n${output()}`);
}

/**
 * `./bin/berth registry serve --listen 127.0.0.1:0 --data-dir <dir>`; the URL is read from what the
 * command prints once it is ready. `config` is written to a berth.yaml passed with --config.
 */
export async function startBerth(
  dataDir: string,
  options: { configYaml?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<RunningRegistry> {
  mkdirSync(dataDir, { recursive: true });
  const args = [BERTH_BIN, 'registry', 'serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir];
  if (options.configYaml !== undefined) {
    const file = join(dataDir, 'berth.yaml');
    writeFileSync(file, options.configYaml);
    args.push('--config', file);
  }
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, BERTH_LOG_LEVEL: process.env.BERTH_LOG_LEVEL ?? 'warn', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = capture(child);
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`berth registry serve printed no URL within 30 s:\n${output()}`)),
      30_000,
    );
    const onData = () => {
      const match = /(http:\/\/127\.0\.0\.1:\d+)/.exec(output());
      if (match && /\bready\b/.test(output())) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        resolveUrl(match[1]!);
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`berth registry serve exited with ${code}:\n${output()}`));
    });
  });
  return { url, host: new URL(url).host, pid: child.pid!, output, stop: () => stopChild(child) };
}

/** Debian's docker-registry (distribution 2.8) with its own config: filesystem storage, deletes on, no auth. */
export async function startDistribution(
  dir: string,
  options: { logLevel?: string } = {},
): Promise<RunningRegistry> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    [
      'version: 0.1',
      `log: {level: ${options.logLevel ?? 'warn'}, accesslog: {disabled: true}}`,
      'storage:',
      `  filesystem: {rootdirectory: ${join(dir, 'data')}}`,
      '  delete: {enabled: true}',
      `http: {addr: 127.0.0.1:${port}}`,
      '',
    ].join('\n'),
  );
  const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = capture(child);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}/v2/`, child, output);
  } catch (error) {
    await stopChild(child);
    throw error;
  }
  return { url, host: `127.0.0.1:${port}`, pid: child.pid!, output, stop: () => stopChild(child) };
}

/**
 * nginx serving `root` with sendfile: the ceiling for a blob GET. Runs in the foreground with every
 * path (pid, logs, temp files) under `dir`, so it needs no root paths and leaves nothing behind.
 */
export async function startNginx(dir: string, root: string): Promise<RunningRegistry> {
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const port = await freePort();
  const config = join(dir, 'nginx.conf');
  const runAsRoot = process.getuid?.() === 0 ? 'user root;' : '';
  writeFileSync(
    config,
    `${runAsRoot}
daemon off;
worker_processes auto;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'logs/error.log')} warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  client_body_temp_path ${join(dir, 'body')};
  proxy_temp_path ${join(dir, 'proxy')};
  fastcgi_temp_path ${join(dir, 'fastcgi')};
  uwsgi_temp_path ${join(dir, 'uwsgi')};
  scgi_temp_path ${join(dir, 'scgi')};
  types { application/octet-stream bin; }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:${port};
    root ${root};
  }
}
`,
  );
  const child = spawn('nginx', ['-p', dir, '-c', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = capture(child);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}/`, child, output);
  } catch (error) {
    await stopChild(child);
    throw error;
  }
  return { url, host: `127.0.0.1:${port}`, pid: child.pid!, output, stop: () => stopChild(child) };
}
