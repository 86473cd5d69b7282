import { RE2JS } from 're2js';
import { LogQueryError } from './query-error.js';

export const MAX_REGEX_LENGTH = 1000;
/**
 * Instructions a compiled pattern may have. RE2 tests a line in time proportional to its length times
 * the program's size (at worst, when its DFA gives up), so this bounds what one line can cost. Hand-written
 * log searches compile to 15–70 (`[0-9a-f]{64}` is 66); counted repetitions (`.{1000}`) are expanded.
 */
export const MAX_REGEX_PROGRAM = 128;

/** A user's regular expression, compiled for RE2's linear-time matcher. */
export interface LineRegex {
  readonly source: string;
  test(text: string): boolean;
}

/**
 * Compiles a user's regular expression; `(?i)` at the start (Go/Loki style) means case-insensitive.
 * The syntax is JavaScript's (V8 checks it first, so its messages name the problem); matching is RE2's,
 * which never backtracks: `.*.*.*.*.*.*.*=` takes microseconds on a line where V8 took 43 s. What RE2
 * cannot do in linear time (lookaround, backreferences) is refused with a message that says so.
 */
export function compileRegex(source: string): LineRegex {
  if (source.length > MAX_REGEX_LENGTH)
    throw new LogQueryError(`regex: longer than ${MAX_REGEX_LENGTH} characters`);
  const insensitive = source.startsWith('(?i)');
  const body = insensitive ? source.slice(4) : source;
  try {
    // Parsing only: V8 compiles the matcher lazily, on the first exec, which never happens here.
    new RegExp(body, insensitive ? 'i' : '');
  } catch (error) {
    // V8's message names the problem: "Invalid regular expression: /a(/: Unterminated group".
    throw new LogQueryError(`regex: ${(error as Error).message}`);
  }
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(RE2JS.translateRegExp(body), insensitive ? RE2JS.CASE_INSENSITIVE : 0);
  } catch (error) {
    const reason = (error as Error).message.replace(/^error parsing regexp: /, '');
    throw new LogQueryError(
      `regex: not supported by the linear-time matcher (RE2): ${reason}; lookahead, lookbehind and backreferences are not available`,
    );
  }
  const size = compiled.programSize();
  if (size > MAX_REGEX_PROGRAM) {
    throw new LogQueryError(
      `regex: too complex (it compiles to ${size} instructions, at most ${MAX_REGEX_PROGRAM}); counted repetitions such as {1000} count once per repetition`,
    );
  }
  return { source, test: (text) => compiled.test(text) };
}
