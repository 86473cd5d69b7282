import { createHash } from 'node:crypto';
import type { ParamLocation } from '../invoke/plan.js';

/**
 * What model APIs accept as a property key of a tool's input schema (Anthropic's and Bedrock's rule;
 * the others are looser). Every top-level argument name is made to match it.
 */
export const ARGUMENT_NAME = /^[a-zA-Z0-9_.-]{1,64}$/;
const MAX_ARGUMENT_LENGTH = 64;

export interface ArgumentRequest {
  /** The parameter's name on the wire (`$top`, `page[limit]`, `jcr:content`). */
  name: string;
  /** Where it goes; `body` for the request body argument. */
  in: ParamLocation | 'body';
}

/**
 * Argument names for one operation's parameters (in the order given: path, query, header, cookie,
 * then the body), each matching ARGUMENT_NAME and unique within the tool.
 *
 * - A name that occurs in an earlier location keeps the plain name there; later ones become
 *   `<name>__<location>` (the clash rule, unchanged).
 * - Characters outside `[a-zA-Z0-9_.-]` become `_` (`$top` → `_top`, `page[limit]` → `page_limit_`);
 *   a name longer than 64 characters keeps its first 57 and ends in `_` + 6 hex digits of its SHA-256.
 * - Names that needed no change are placed first, so a sanitized `$top` can never take `_top` from a
 *   parameter really called `_top`; a sanitized name that still collides ends in `_` + 6 hex digits
 *   of the SHA-256 of `<location>:<name>`. Nothing depends on a counter: names are stable.
 */
export function argumentNames(requests: ArgumentRequest[]): string[] {
  const wanted = new Map<string, true>();
  const plain: string[] = requests.map((request) => {
    const base = wanted.has(request.name) ? `${request.name}__${request.in}` : request.name;
    wanted.set(request.name, true);
    return base;
  });
  const names: string[] = new Array<string>(requests.length);
  const taken = new Set<string>();
  const order = requests
    .map((_, i) => i)
    .sort((a, b) => Number(!ARGUMENT_NAME.test(plain[a]!)) - Number(!ARGUMENT_NAME.test(plain[b]!)));
  for (const i of order) {
    let name = sanitizeArgument(plain[i]!);
    if (taken.has(name)) {
      const identity = `${requests[i]!.in}:${requests[i]!.name}`;
      for (let length = 6; taken.has(name); length += 2) name = withSuffix(name, hash(identity, length));
    }
    taken.add(name);
    names[i] = name;
  }
  return names;
}

/** One name made to match ARGUMENT_NAME (without the uniqueness step). */
export function sanitizeArgument(name: string): string {
  const replaced = name.replace(/[^a-zA-Z0-9_.-]/g, '_') || 'arg';
  return replaced.length <= MAX_ARGUMENT_LENGTH ? replaced : withSuffix(replaced, hash(name, 6));
}

function withSuffix(name: string, suffix: string): string {
  return `${name.slice(0, MAX_ARGUMENT_LENGTH - suffix.length - 1)}_${suffix}`;
}

function hash(text: string, length: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}
