import type { Logger } from './logger.js';

/** A server a part has started: what it serves, and how to stop it (in-flight work finishes first). */
export interface RunningService {
  name: string;
  urls: string[];
  close(): Promise<void>;
}

/**
 * Prints each service's URLs, then waits for SIGINT or SIGTERM and closes the services in reverse
 * start order. A second signal exits at once, for the operator whose shutdown is stuck.
 */
export async function runUntilSignal(services: RunningService[], log: Logger): Promise<void> {
  // Listening before "ready" is written: whoever reads it may signal at once, and the write can
  // hand that reader the CPU before the next line here runs (the default action would kill us).
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  for (const service of services) {
    for (const url of service.urls) process.stdout.write(`${service.name.padEnd(10)} ${url}\n`);
  }
  process.stdout.write('ready\n');
  const signal = await stopped;
  log.info({ signal }, 'shutting down');
  const force = () => process.exit(130);
  process.once('SIGINT', force);
  process.once('SIGTERM', force);
  for (const service of [...services].reverse()) {
    try {
      await service.close();
    } catch (error) {
      log.error({ err: error, service: service.name }, 'error while stopping');
    }
  }
}
