// The front door's own count of requests in flight per instance, which sites drain by asking.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InFlight } from '../../src/frontdoor/in-flight.js';
import type { Instance } from '../../src/sites/index.js';

const instance = () => ({}) as Instance;

test('counts per instance; an end called twice counts once; idle wakes when the last request ends', async () => {
  const inFlight = new InFlight();
  const a = instance();
  const b = instance();
  assert.equal(await inFlight.whenIdle(a, 60_000), true, 'nothing in flight: idle at once');
  const first = inFlight.begin(a);
  const second = inFlight.begin(a);
  inFlight.begin(b);
  assert.deepEqual([inFlight.of(a), inFlight.of(b)], [2, 1]);
  let woke = false;
  const idle = inFlight.whenIdle(a, 60_000).then((v) => ((woke = true), v));
  first();
  first();
  assert.equal(inFlight.of(a), 1, 'a second call of the same end does nothing');
  await Promise.resolve();
  assert.equal(woke, false, 'still one in flight');
  second();
  assert.equal(await idle, true);
  assert.equal(inFlight.of(b), 1, 'the other instance is counted apart');
});

test('whenIdle gives up after its timeout with false', async () => {
  const inFlight = new InFlight();
  const a = instance();
  inFlight.begin(a);
  assert.equal(await inFlight.whenIdle(a, 1), false);
});
