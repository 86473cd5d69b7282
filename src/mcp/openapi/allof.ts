import { isObject, put } from './pointer.js';

/**
 * Merges `allOf` into one schema where that is safe, so tools see plain objects (clients and models
 * handle `properties` far better than combinators). Members that are references to complete
 * definitions are inlined one level; a member still being converted (a cycle) or a conflict in `type`
 * leaves that member in a residual `allOf`, which is still valid JSON Schema.
 */
export function mergeAllOf(
  schema: Record<string, unknown>,
  resolve: (ref: string) => Record<string, unknown> | undefined,
): Record<string, unknown> {
  const { allOf, ...base } = schema;
  const members = allOf as unknown[];
  const merged: Record<string, unknown> = { ...base };
  const residual: unknown[] = [];
  for (const member of members) {
    const body = memberBody(member, resolve);
    if (!body || !mergeInto(merged, body)) residual.push(member);
  }
  if (residual.length > 0) merged.allOf = residual;
  return merged;
}

function memberBody(
  member: unknown,
  resolve: (ref: string) => Record<string, unknown> | undefined,
): Record<string, unknown> | undefined {
  if (!isObject(member)) return undefined;
  if (typeof member.$ref !== 'string') return member;
  const target = resolve(member.$ref);
  if (!target) return undefined;
  const { $ref: _ref, ...siblings } = member;
  return { ...target, ...siblings };
}

/** Merges `from` into `into`; returns false (changing nothing) when the two cannot be combined. */
function mergeInto(into: Record<string, unknown>, from: Record<string, unknown>): boolean {
  const type = mergeType(into.type, from.type);
  if (type === null) return false;
  if (type !== undefined) into.type = type;
  for (const [keyword, value] of Object.entries(from)) {
    if (keyword === 'type') continue;
    if (keyword === 'properties' && isObject(value)) {
      const properties: Record<string, unknown> = {};
      for (const [name, sub] of Object.entries(isObject(into.properties) ? into.properties : {}))
        put(properties, name, sub);
      for (const [name, sub] of Object.entries(value)) {
        const both = Object.hasOwn(properties, name) && properties[name] !== sub;
        put(properties, name, both ? { allOf: [properties[name], sub] } : sub);
      }
      into.properties = properties;
    } else if (keyword === 'required' && Array.isArray(value)) {
      const required = new Set([...(Array.isArray(into.required) ? into.required : []), ...value]);
      into.required = [...required];
    } else if (keyword === 'allOf' && Array.isArray(value)) {
      into.allOf = [...(Array.isArray(into.allOf) ? into.allOf : []), ...value];
    } else if (!(keyword in into)) {
      // The outer schema's own keywords (description, title...) win over the members'.
      into[keyword] = value;
    }
  }
  return true;
}

/** undefined: no type either side; null: incompatible. */
function mergeType(a: unknown, b: unknown): unknown {
  if (b === undefined) return a;
  if (a === undefined) return b;
  const left = Array.isArray(a) ? a : [a];
  const right = Array.isArray(b) ? b : [b];
  const both = left.filter((t) => right.includes(t));
  if (both.length === 0) return null;
  return both.length === 1 ? both[0] : both;
}
