import { headerOf } from './headers.js';

/** q of the best media range in an Accept value that matches one of `types` (0 when none does). */
function quality(accept: string, types: string[]): number {
  let best = 0;
  for (const range of accept.split(',')) {
    const [type = '', ...params] = range.split(';').map((p) => p.trim().toLowerCase());
    if (!types.includes(type)) continue;
    const q = params.find((p) => p.startsWith('q='));
    const value = q === undefined ? 1 : Number(q.slice(2));
    if (Number.isFinite(value)) best = Math.max(best, value);
  }
  return best;
}

/**
 * True when the client prefers HTML to JSON: a browser's navigation (`text/html,…,*∕*;q=0.8`). An
 * API client (`application/json`, `*∕*`, no Accept) gets problem+json, as before.
 */
export function prefersHtml(rawHeaders: string[]): boolean {
  const accept = headerOf(rawHeaders, 'accept');
  if (!accept) return false;
  const html = quality(accept, ['text/html', 'application/xhtml+xml']);
  return html > 0 && html > quality(accept, ['application/json', 'application/problem+json']);
}

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text made safe for HTML element content and quoted attributes: every markup character escaped. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/**
 * The page a browser gets for a front door answer: the same title, detail and request id as the
 * problem+json, all escaped (a site name or a detail could carry markup), no script, no outside
 * resource.
 */
export function problemPage(status: number, title: string, detail: string, requestId: string): string {
  const heading = `${status} ${escapeHtml(title)}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${heading}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#222}code{color:#555}</style>
</head><body>
<h1>${heading}</h1>
<p>${escapeHtml(detail)}</p>
<p><small>Request id <code>${escapeHtml(requestId)}</code> · answered by the Berth front door</small></p>
</body></html>
`;
}
