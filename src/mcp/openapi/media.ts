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
  if (type.startsWith('text/') || type === 'application/xml' || type.endsWith('+xml')) return 'text';
  return 'binary';
}

/** Which request media type a tool sends when an operation offers several: the most structured one. */
export function preferredRequestType(types: string[]): string | undefined {
  const rank = (t: string): number => {
    const kind = bodyKind(t);
    return kind === 'json' ? 0 : kind === 'form' ? 1 : kind === 'multipart' ? 2 : kind === 'text' ? 3 : 4;
  };
  return [...types].sort((a, b) => rank(a) - rank(b))[0];
}
