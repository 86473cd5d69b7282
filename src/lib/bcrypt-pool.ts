import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/** Every worker is busy and the queue is full: the caller should answer 503 with Retry-After. */
export class BcryptBusyError extends Error {
  constructor(readonly queued: number) {
    super(`${queued} password checks are already waiting`);
    this.name = 'BcryptBusyError';
  }
}

interface Task {
  password: string;
  hash: string;
  resolve(ok: boolean): void;
  reject(error: Error): void;
}

interface Slot {
  worker: Worker;
  task?: Task;
}

/**
 * A bcrypt comparison in pure JavaScript holds its thread for tens of milliseconds (cost 10: ~60 ms),
 * so on the event loop 17 wrong passwords a second stall every other service. The worker evaluates
 * bcryptjs directly (plain JavaScript, so the same code runs from src/ under tsx and from dist/).
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
import(workerData.bcryptjs).then(({ default: bcrypt }) => {
  parentPort.on('message', ({ password, hash }) => {
    try {
      parentPort.postMessage({ ok: bcrypt.compareSync(password, hash) });
    } catch (error) {
      parentPort.postMessage({ error: String((error && error.message) || error) });
    }
  });
});`;

/**
 * Password checks on worker threads: `size` workers, each comparing one hash at a time, and at most
 * `maxQueue` checks waiting for one; past that `compare` fails at once with BcryptBusyError, so a
 * flood of logins cannot grow memory or the wait without bound. Workers start on first use and do
 * not keep the process alive while idle.
 */
export class BcryptPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private compares = 0;
  private readonly threads = new Set<number>();

  constructor(
    readonly size: number,
    readonly maxQueue: number,
  ) {}

  /** True when `password` matches the bcrypt `hash` (`$2a$`/`$2b$`); a malformed hash rejects. */
  compare(password: string, hash: string): Promise<boolean> {
    const idle = this.idleSlot();
    if (!idle && this.queue.length >= this.maxQueue)
      return Promise.reject(new BcryptBusyError(this.queue.length));
    return new Promise<boolean>((resolve, reject) => {
      const task = { password, hash, resolve, reject };
      if (idle) this.run(idle, task);
      else this.queue.push(task);
    });
  }

  /** Comparisons run so far and the threads that ran them (tests check the work left the event loop). */
  stats(): { compares: number; threadIds: number[]; queued: number } {
    return { compares: this.compares, threadIds: [...this.threads], queued: this.queue.length };
  }

  private idleSlot(): Slot | undefined {
    const idle = this.slots.find((slot) => !slot.task);
    if (idle || this.slots.length >= this.size) return idle;
    const slot: Slot = { worker: this.startWorker() };
    this.slots.push(slot);
    return slot;
  }

  private startWorker(): Worker {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { bcryptjs: import.meta.resolve('bcryptjs') },
      name: 'berth-bcrypt',
    });
    worker.unref();
    worker.on('message', (answer: { ok?: boolean; error?: string }) => {
      const slot = this.slots.find((s) => s.worker === worker);
      const task = slot?.task;
      if (!slot || !task) return;
      this.compares++;
      this.threads.add(worker.threadId);
      if (answer.error !== undefined) task.reject(new Error(`bcrypt: ${answer.error}`));
      else task.resolve(answer.ok === true);
      this.next(slot);
    });
    // A worker that dies fails its check; the next check starts a new one.
    const lost = (error: unknown) => {
      const at = this.slots.findIndex((s) => s.worker === worker);
      if (at < 0) return;
      const [slot] = this.slots.splice(at, 1);
      slot!.task?.reject(error instanceof Error ? error : new Error('the bcrypt worker stopped'));
      const waiting = this.queue.shift();
      if (waiting) this.run(this.idleSlot()!, waiting);
    };
    worker.on('error', lost);
    worker.on('exit', lost);
    return worker;
  }

  private run(slot: Slot, task: Task): void {
    slot.task = task;
    // Keep the process alive while a check is running, not while the worker idles.
    slot.worker.ref();
    slot.worker.postMessage({ password: task.password, hash: task.hash });
  }

  private next(slot: Slot): void {
    slot.task = undefined;
    const waiting = this.queue.shift();
    if (waiting) this.run(slot, waiting);
    else slot.worker.unref();
  }
}

/** Workers for every password check in the process (console and registry share the cores). */
export const BCRYPT_THREADS = Math.max(1, Math.min(2, availableParallelism()));
/** Checks that may wait for a worker; at ~60 ms each on two threads, about 2 s of waiting. */
export const BCRYPT_MAX_QUEUE = 64;
export const bcryptPool = new BcryptPool(BCRYPT_THREADS, BCRYPT_MAX_QUEUE);
