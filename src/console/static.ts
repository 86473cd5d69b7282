import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';

/** The page's files, read once at start: the page needs no build step and no file-system access per request. */
const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/assets/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/assets/highlight.js': { file: 'highlight.js', type: 'text/javascript; charset=utf-8' },
  '/assets/event-stream.js': { file: 'event-stream.js', type: 'text/javascript; charset=utf-8' },
  '/assets/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

/** The page and its assets: the only paths a browser may load from another site or the address bar. */
export const PAGE_PATHS: ReadonlySet<string> = new Set(Object.keys(FILES));

/** Log lines are untrusted: the page builds DOM with textContent only, and this policy forbids any inline script. */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

export async function consolePages(app: FastifyInstance): Promise<void> {
  for (const [url, { file, type }] of Object.entries(FILES)) {
    const body = readFileSync(new URL(`./public/${file}`, import.meta.url));
    app.get(url, async (_request, reply) =>
      reply
        .type(type)
        .header('content-security-policy', CSP)
        .header('x-content-type-options', 'nosniff')
        .header('cache-control', 'no-cache')
        .send(body),
    );
  }
}
