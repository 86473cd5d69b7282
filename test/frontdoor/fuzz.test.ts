import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzzRequests, fuzzResponses } from './fuzz/properties.js';

// Issue 11, item 8: the fast path's request parsing and the upstream response parser against
// Node's own llhttp, briefly (a few seconds); `npm run fuzz:frontdoor -- --runs N` runs it longer.

test('fuzz: the fast path reads client bytes as node:http does (requests, bodies, refusals)', async () => {
  const report = await fuzzRequests({ runs: 250 });
  // The generators must keep reaching the fast path, or the property says little.
  assert.ok(report.fastPathRequests > 30, `only ${report.fastPathRequests} requests took the fast path`);
});

test("fuzz: the upstream response parser reads instance bytes as node's http client does", async () => {
  const report = await fuzzResponses({ runs: 400 });
  assert.ok(report.acceptedResponses > 60, `only ${report.acceptedResponses} responses were accepted`);
});
