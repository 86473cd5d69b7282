import { createHash } from 'node:crypto';

/**
 * Canonical JSON: object keys sorted, no whitespace, undefined members dropped (RFC 8785's ordering
 * for the ASCII keys OpenAPI uses).
 *
 * Works in two steps: a key-sorted copy of the value, then the engine's JSON.stringify. The copy is
 * memoized by object identity, so a `$defs` entry shared by hundreds of tools is sorted once; and
 * already-sorted objects are reused as they are. Both measured several times faster than a
 * hand-written serializer or a sorting replacer on GitHub's 1,200 tools.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sorted(value, new WeakMap())) ?? 'null';
}

/** SHA-256 (hex) of the canonical JSON of a value: the ToolCatalog hash. */
export function canonicalHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

function sorted(value: unknown, memo: WeakMap<object, unknown>): unknown {
  if (value === null || typeof value !== 'object') return value;
  const cached = memo.get(value);
  if (cached !== undefined) return cached;
  let out: unknown;
  if (Array.isArray(value)) {
    let changed = false;
    const items = value.map((item) => {
      const next = sorted(item, memo);
      if (next !== item) changed = true;
      return next;
    });
    out = changed ? items : value;
  } else {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record);
    let inOrder = true;
    for (let i = 1; i < keys.length && inOrder; i++) inOrder = keys[i - 1]! < keys[i]!;
    let changed = !inOrder;
    const children = new Map<string, unknown>();
    for (const key of keys) {
      const child = sorted(record[key], memo);
      if (child !== record[key]) changed = true;
      children.set(key, child);
    }
    if (!changed) out = value;
    else {
      // No prototype: a document may have a "__proto__" key, which must stay data.
      const copy: Record<string, unknown> = Object.create(null);
      for (const key of inOrder ? keys : [...keys].sort()) copy[key] = children.get(key);
      out = copy;
    }
  }
  memo.set(value, out);
  return out;
}
