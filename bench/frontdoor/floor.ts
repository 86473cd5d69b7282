import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cpuSecondsOf, untilListening } from './nginx.js';

const SCRIPT = fileURLToPath(new URL('floor.mjs', import.meta.url));

/** floor.mjs (the least a Node.js proxy does) in its own process, like nginx: a reference, not a peer. */
export async function startFloor(
  port: number,
  upstreams: number[],
): Promise<{ close(): Promise<void>; cpuSeconds(): number }> {
  const child = spawn(process.execPath, [SCRIPT, String(port), ...upstreams.map(String)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  await untilListening(port, child, 'floor.mjs');
  return {
    cpuSeconds: () => cpuSecondsOf([child.pid!]),
    async close() {
      child.kill();
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    },
  };
}
