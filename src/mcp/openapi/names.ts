import { createHash } from 'node:crypto';
import type { OperationModel } from './model.js';

export const MAX_NAME_LENGTH = 64;

/**
 * Tool names: the operationId, or `{method}_{path}` without one (App Service's rule: GET /orders/{id}
 * → `get__orders__id_`), with every character outside [A-Za-z0-9_-] replaced by `_`.
 *
 * Names are stable across reloads because every suffix is a hash of the operation's own identity,
 * never a counter: a name over 64 characters is cut and ends in `_` + 6 hex digits of the original
 * text; when several operations share a name, the one first by (path, method) keeps it and the others
 * end in a hash of "METHOD path".
 */
export function toolNames(operations: OperationModel[]): Map<OperationModel, string> {
  const base = new Map<OperationModel, string>();
  for (const op of operations) base.set(op, baseName(op));

  const groups = new Map<string, OperationModel[]>();
  for (const op of operations) {
    const name = base.get(op)!;
    groups.set(name, [...(groups.get(name) ?? []), op]);
  }
  const names = new Map<OperationModel, string>();
  const taken = new Set<string>();
  for (const [name, group] of groups) {
    group.sort((a, b) => (a.path === b.path ? compare(a.method, b.method) : compare(a.path, b.path)));
    names.set(group[0]!, name);
    taken.add(name);
  }
  for (const [name, group] of groups) {
    for (const op of group.slice(1)) {
      const identity = `${op.method.toUpperCase()} ${op.path}`;
      let candidate = withSuffix(name, hash(identity, 6));
      for (let length = 8; taken.has(candidate); length += 2)
        candidate = withSuffix(name, hash(identity, length));
      names.set(op, candidate);
      taken.add(candidate);
    }
  }
  return names;
}

function baseName(op: OperationModel): string {
  const original = op.operationId ?? `${op.method}_${op.path}`;
  const name = sanitize(original);
  return name.length <= MAX_NAME_LENGTH ? name : withSuffix(name, hash(original, 6));
}

export function sanitize(text: string): string {
  return text.replace(/[^A-Za-z0-9_-]/g, '_') || 'operation';
}

function withSuffix(name: string, suffix: string): string {
  return `${name.slice(0, MAX_NAME_LENGTH - suffix.length - 1)}_${suffix}`;
}

function hash(text: string, length: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
