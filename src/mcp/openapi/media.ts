import type { BodyKind } from '../invoke/plan.js';

/** application/json, application/problem+json, application/vnd.github+json, text/json ... */
export function isJsonMediaType(mediaType: string): boolean {
  const type = mediaType.split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || type === 'text/json' || type.endsWith('+json') || type === '*/*';
}

export function bodyKind(mediaType: string): BodyKind {
  const type = mediaType.split(';')[0]!.trim().toLowerCase();
  if (isJsonMediaType(type) && type !== '*/*') return 'json';
  if (type === 'application/x-www-form-urlencoded') return 'form';
  if (type.startsWith('multipart/')) return 'multipart';
  if (
    type.startsWith('text/') ||
    type === 'application/xml' ||
    type.endsWith('+xml') ||
    type === 'application/yaml' ||
    type === 'application/x-yaml' ||
    type.endsWith('+yaml')
  )
    return 'text';
  return 'binary';
}

/** Which request media type a tool sends when an operation offers several: the most structured one. */
export function preferredRequestType(types: string[]): string | undefined {
  return orderedRequestTypes(types)[0];
}

/**
 * Offered request media types, most structured first (JSON, form, multipart, text, binary; plain
 * `application/json` before other JSON types), document order within a rank. `*\/*` is left out: it
 * names no format to send.
 */
export function orderedRequestTypes(types: string[]): string[] {
  const rank = (t: string): number => {
    const kind = bodyKind(t);
    const base =
      kind === 'json' ? 0 : kind === 'form' ? 2 : kind === 'multipart' ? 3 : kind === 'text' ? 4 : 5;
    return base === 0 && t.split(';')[0]!.trim().toLowerCase() !== 'application/json' ? 1 : base;
  };
  const usable = types.filter((t) => t.trim() !== '*/*');
  return (usable.length > 0 ? usable : types)
    .map((t, i) => [t, i] as const)
    .sort((a, b) => rank(a[0]) - rank(b[0]) || a[1] - b[1])
    .map(([t]) => t);
}
