// The data folder lock of `berth up`: held by a live Berth, taken over from a dead or unrelated pid.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataDirInUseError, lockDataDir } from '../../src/lib/data-lock.js';
import { tempDir } from '../support/temp.js';

/** A live process whose command line says `berth` (as `node …/bin/berth up` does), or does not. */
async function live(named: boolean): Promise<ChildProcess> {
  const args = ['-e', 'setInterval(() => {}, 1 << 30)', ...(named ? ['berth', 'up'] : [])];
  const child = spawn(process.execPath, args, { stdio: 'ignore' });
  await new Promise((done) => child.once('spawn', done));
  return child;
}

const lockOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'berth.lock'), 'utf8')) as { pid: number };
const holder = (dir: string, pid: number) =>
  writeFileSync(join(dir, 'berth.lock'), JSON.stringify({ pid, command: 'berth up', since: 'then' }));

test('a live Berth holds the folder: the error names its pid and command', async (t) => {
  const dir = tempDir('berth-lock-');
  const other = await live(true);
  t.after(() => other.kill('SIGKILL'));
  holder(dir, other.pid!);
  assert.throws(
    () => lockDataDir(dir, 'berth up --config x.yaml'),
    (error: unknown) =>
      error instanceof DataDirInUseError &&
      error.message.includes(`(pid ${other.pid}, "berth up", since then)`),
  );
  assert.equal(lockOf(dir).pid, other.pid, 'the holder keeps its lock');
});

test('a lock left by a dead process, by a pid now used by something else, or half written is taken over; release removes it', async (t) => {
  const dir = tempDir('berth-lock-');
  const unrelated = await live(false);
  t.after(() => unrelated.kill('SIGKILL'));
  for (const write of [
    () => holder(dir, 2 ** 22 + 1), // above any pid_max: never alive
    () => holder(dir, unrelated.pid!), // alive, but its command line is not Berth's
    () => writeFileSync(join(dir, 'berth.lock'), '{"pid":'), // a writer that died mid-line
  ]) {
    write();
    const release = lockDataDir(dir, 'berth up');
    assert.equal(lockOf(dir).pid, process.pid);
    release();
    assert.equal(existsSync(join(dir, 'berth.lock')), false);
  }
  assert.deepEqual(readdirSync(dir), [], 'no side files left');
});
