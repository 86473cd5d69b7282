// The front door's differential fuzzing, longer than CI runs it (test/frontdoor/fuzz.test.ts):
//   npm run fuzz:frontdoor -- --runs 20000            (both: request fast path and response parser)
//   npm run fuzz:frontdoor -- --runs 5000 --only requests --seed 42
// A divergence prints fast-check's report: the seed, and the counterexample shrunk to its minimal
// bytes, which then becomes a regular test (test/frontdoor/fuzz-regressions.test.ts).
import { parseArgs } from 'node:util';
import { fuzzRequests, fuzzResponses } from './properties.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5000' },
    seed: { type: 'string' },
    only: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write(
    'usage: npm run fuzz:frontdoor -- [--runs N] [--seed S] [--only requests|responses]\n',
  );
  process.exit(0);
}
const runs = Number(values.runs);
const seed = values.seed === undefined ? undefined : Number(values.seed);
if (!Number.isInteger(runs) || runs < 1 || (seed !== undefined && !Number.isInteger(seed))) {
  process.stderr.write('--runs must be a positive integer, --seed an integer\n');
  process.exit(2);
}
let failed = false;
for (const [name, fuzz] of [
  ['requests', fuzzRequests],
  ['responses', fuzzResponses],
] as const) {
  if (values.only && values.only !== name) continue;
  const started = Date.now();
  try {
    const report = await fuzz({ runs, seed });
    const covered =
      name === 'requests'
        ? `${report.fastPathRequests} requests read by the fast path`
        : `${report.acceptedResponses} responses accepted`;
    process.stdout.write(
      `${name}: ${runs} cases agree with node:http (${covered}) in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
    );
  } catch (error) {
    failed = true;
    process.stdout.write(`${name}: DIVERGENCE\n${(error as Error).message}\n`);
  }
}
process.exit(failed ? 1 : 0);
