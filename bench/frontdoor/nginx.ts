import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';

export const NGINX = '/usr/sbin/nginx';

/**
 * nginx as the peer: one worker (the front door is one Node process), keep-alive to the upstreams,
 * access log off, on loopback with a throw-away config and temp folders.
 */
export async function startNginx(
  port: number,
  upstreams: number[],
): Promise<{ close(): Promise<void>; cpuSeconds(): number }> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-bench-nginx-'));
  const conf = `
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream instances {
${upstreams.map((p) => `    server 127.0.0.1:${p};`).join('\n')}
    keepalive 256;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://instances;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $host;
      proxy_set_header X-Request-Id $request_id;
    }
  }
}
`;
  await writeFile(join(dir, 'nginx.conf'), conf);
  const child: ChildProcess = spawn(
    NGINX,
    ['-c', join(dir, 'nginx.conf'), '-p', dir, '-e', join(dir, 'error.log')],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  await untilListening(port, child, 'nginx');
  return {
    /** CPU time (user + system) nginx's master and workers have used so far, from /proc. */
    cpuSeconds() {
      const children = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8');
      return cpuSecondsOf([child.pid!, ...children.trim().split(/\s+/).filter(Boolean).map(Number)]);
    },
    async close() {
      child.kill('SIGQUIT');
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** CPU time (user + system) the processes have used so far, from /proc. */
export function cpuSecondsOf(pids: number[]): number {
  const ticks = pids.reduce((sum, pid) => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return sum + Number(fields[11]) + Number(fields[12]); // utime, stime
  }, 0);
  return ticks / 100; // USER_HZ
}

/** Waits (10 s at most) until `child` accepts connections on `port`; throws with its stderr if it exits or never does. */
export async function untilListening(port: number, child: ChildProcess, name: string): Promise<void> {
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const deadline = Date.now() + 10_000;
  while (!(await canConnect(port))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${name} did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
