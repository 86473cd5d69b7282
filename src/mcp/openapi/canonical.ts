import { createHash, type Hash } from 'node:crypto';

/**
 * SHA-256 of the canonical JSON of a value: object keys sorted, no whitespace (RFC 8785's ordering
 * for the ASCII keys OpenAPI uses). Streams into the hash so a large tool list is never one string;
 * shared sub-objects (the `$defs` several tools reach) are serialized once and reused.
 */
export function canonicalHash(value: unknown): string {
  const hash = createHash('sha256');
  const memo = new WeakMap<object, string>();
  write(hash, value, memo);
  return hash.digest('hex');
}

export function canonicalJson(value: unknown): string {
  return serialize(value, new WeakMap());
}

function write(hash: Hash, value: unknown, memo: WeakMap<object, string>): void {
  if (Array.isArray(value)) {
    // Top-level arrays (the tool list) stream item by item.
    hash.update('[');
    value.forEach((item, i) => {
      if (i > 0) hash.update(',');
      hash.update(serialize(item, memo));
    });
    hash.update(']');
  } else {
    hash.update(serialize(value, memo));
  }
}

function serialize(value: unknown, memo: WeakMap<object, string>): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  const cached = memo.get(value);
  if (cached !== undefined) return cached;
  let out: string;
  if (Array.isArray(value)) {
    out = '[' + value.map((item) => serialize(item, memo)).join(',') + ']';
  } else {
    const entries = Object.keys(value)
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .sort()
      .map((key) => JSON.stringify(key) + ':' + serialize((value as Record<string, unknown>)[key], memo));
    out = '{' + entries.join(',') + '}';
  }
  memo.set(value, out);
  return out;
}
