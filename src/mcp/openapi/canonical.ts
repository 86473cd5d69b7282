import { createHash } from 'node:crypto';

/**
 * Canonical JSON: object keys sorted, no whitespace, undefined members dropped (RFC 8785's ordering
 * for the ASCII keys OpenAPI uses). Uses the engine's JSON.stringify with a key-sorting replacer,
 * which measured several times faster than a hand-written serializer on 1,000-tool documents.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, sortKeys) ?? 'null';
}

/** SHA-256 (hex) of the canonical JSON of a value: the ToolCatalog hash. */
export function canonicalHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

function sortKeys(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  let sorted = true;
  for (let i = 1; i < keys.length; i++) {
    if (keys[i - 1]! > keys[i]!) {
      sorted = false;
      break;
    }
  }
  if (sorted) return value;
  // No prototype: a document may have a "__proto__" key, which must stay data.
  const out: Record<string, unknown> = Object.create(null);
  for (const key of keys.sort()) out[key] = record[key];
  return out;
}
