// What a regular expression in the log query API costs, before (V8's backtracking RegExp) and after
// (RE2 through re2js, what src/logs/regex.ts compiles). `node --import tsx bench/logs/regex.ts`
// (about 15 s; one core). Prints a report and, last, one JSON line.
import { RE2JS } from 're2js';
import { compileRegex, MAX_REGEX_PROGRAM } from '../../src/logs/regex.js';

const ISSUE = '.*.*.*.*.*.*.*=';
const ORDINARY =
  'GET /api/orders/42 200 in 12ms from 127.0.0.1 user alice agent curl/8.5.0 trace 4bf92f3577b34da6';

function ms(run: () => unknown): number {
  const start = performance.now();
  run();
  return Math.round((performance.now() - start) * 1000) / 1000;
}

const results: Record<string, number> = {};
const report = (key: string, value: number, label: string) => {
  results[key] = value;
  console.log(`${label.padEnd(72)} ${value} ms`);
};

// V8 is polynomial in the line for this pattern (seven nested splits); the full line takes minutes.
const v8 = new RegExp(ISSUE);
for (const length of [30, 40, 45]) {
  report(
    `v8_issue_${length}`,
    ms(() => v8.test(ORDINARY.slice(0, length))),
    `V8, issue pattern, first ${length} chars of the line`,
  );
}
const re2 = compileRegex(ISSUE);
report(
  're2_issue_line',
  ms(() => re2.test(ORDINARY)),
  `RE2, issue pattern, the whole ${ORDINARY.length}-char line`,
);
report(
  're2_issue_64k',
  ms(() => re2.test('a'.repeat(65_536))),
  'RE2, issue pattern, a 64 KiB line',
);

// Throughput of an ordinary search over 200,000 lines.
const lines = Array.from(
  { length: 200_000 },
  (_, i) => `GET /api/orders/${i} 200 in ${i % 100}ms user=u${i % 7}`,
);
const pattern = 'orders/\\d+ 200 in 9\\dms';
const v8Typical = new RegExp(pattern);
const re2Typical = compileRegex(pattern);
report(
  'v8_typical_200k',
  ms(() => lines.filter((l) => v8Typical.test(l)).length),
  'V8, `orders/\\d+ 200 in 9\\dms` over 200,000 lines',
);
report(
  're2_typical_200k',
  ms(() => lines.filter((l) => re2Typical.test(l)).length),
  'RE2, the same',
);

// RE2's worst case: a pattern whose DFA needs too many states falls back to the NFA, linear in the
// line times the program size. This one is at 26 instructions; the cap is MAX_REGEX_PROGRAM.
// Pseudo-random a/b (a fixed LCG): a periodic text would let the DFA get by with few states.
let ab = '';
for (let i = 0, x = 1; i < 65_536; i++) {
  x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
  ab += x < 1_073_741_824 ? 'a' : 'b';
}
const dfaBuster = compileRegex('[ab]*a[ab]{20}[cd]');
report(
  're2_nfa_64k_26',
  ms(() => dfaBuster.test(ab)),
  'RE2, `[ab]*a[ab]{20}[cd]` (NFA) over a 64 KiB line',
);
const nearCap = compileRegex('a[ab]{120}[cd]');
report(
  're2_nfa_64k_124',
  ms(() => nearCap.test(ab)),
  `RE2, \`a[ab]{120}[cd]\` (124 of ${MAX_REGEX_PROGRAM} instructions) over a 64 KiB line`,
);
// Compiling the largest program the 1000-character limit allows, before it is refused as too complex.
report(
  're2_compile_largest',
  ms(() => RE2JS.compile('.{1000}'.repeat(142))),
  'RE2, compiling `.{1000}` x 142 (142,002 instructions, then refused)',
);
console.log(JSON.stringify(results));
