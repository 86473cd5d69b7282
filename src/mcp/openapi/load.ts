import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { SpecError } from './errors.js';

/** Larger documents are refused: GitHub's, the largest real one we know, is 13 MB. */
export const MAX_SPEC_BYTES = 64 * 1024 * 1024;

export interface LoadOptions {
  /** Relative file paths resolve against this (default: the working directory). */
  baseDir?: string;
  fetchImpl?: typeof fetch;
  /** The ETag from the previous load: a URL answering 304, or a file with the same content, gives notModified. */
  etag?: string;
  /** Aborts a URL fetch. */
  signal?: AbortSignal;
}

export interface LoadedSpec {
  document: object;
  etag?: string;
  notModified?: boolean;
}

/** Reads an OpenAPI document from a file or an http(s) URL, JSON or YAML. */
export async function loadSpec(source: string, options: LoadOptions = {}): Promise<LoadedSpec> {
  if (/^https?:\/\//i.test(source)) return loadUrl(source, options);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source))
    throw new SpecError(`unsupported spec location "${source}": use a file path or an http(s) URL`);
  const file = isAbsolute(source) ? source : resolve(options.baseDir ?? process.cwd(), source);
  let info: Stats;
  let text: string;
  let etag: string;
  try {
    info = await stat(file);
    if (!info.isFile()) throw new SpecError(`spec ${file} is not a file`);
    if (info.size > MAX_SPEC_BYTES)
      throw new SpecError(`spec file ${file} is ${info.size} bytes; the limit is ${MAX_SPEC_BYTES}`);
    // A file's ETag is its size and modification time, so an unchanged file is not even read again.
    // File times are coarse (a few ms): a file modified in the last 2 s is "racy" (as git calls it) and
    // its ETag also carries a hash of the content, so two quick saves of the same size are told apart.
    const racy = Date.now() - info.mtimeMs < 2000;
    if (!racy && options.etag === fileEtag(info))
      return { document: {}, etag: options.etag, notModified: true };
    text = await readFile(file, 'utf8');
    etag = fileEtag(info, racy ? text : undefined);
    if (options.etag === etag) return { document: {}, etag, notModified: true };
  } catch (error) {
    if (error instanceof SpecError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new SpecError(
      code === 'ENOENT'
        ? `spec file not found: ${file}`
        : `cannot read spec file ${file}: ${(error as Error).message}`,
    );
  }
  return { document: parseSpecText(text, file), etag };
}

function fileEtag(info: Stats, content?: string): string {
  const base = `${info.size.toString(16)}-${Math.floor(info.mtimeMs * 1000).toString(16)}`;
  return content === undefined
    ? `"${base}"`
    : `"${base}-${createHash('sha256').update(content).digest('base64url').slice(0, 16)}"`;
}

async function loadUrl(url: string, options: LoadOptions): Promise<LoadedSpec> {
  const fetchImpl = options.fetchImpl ?? fetch;
  let response: Response;
  try {
    response = await fetchImpl(url, {
      headers: {
        accept: 'application/json, application/yaml, text/yaml, */*;q=0.5',
        ...(options.etag ? { 'if-none-match': options.etag } : {}),
      },
      redirect: 'follow',
      signal: options.signal ?? AbortSignal.timeout(30_000),
    });
  } catch (error) {
    throw new SpecError(`cannot fetch spec ${url}: ${(error as Error).message}`);
  }
  const etag = response.headers.get('etag') ?? undefined;
  if (response.status === 304) {
    await response.body?.cancel();
    return { document: {}, etag: etag ?? options.etag, notModified: true };
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new SpecError(`cannot fetch spec ${url}: HTTP ${response.status}`);
  }
  const declared = Number(response.headers.get('content-length') ?? 0);
  if (declared > MAX_SPEC_BYTES)
    throw new SpecError(`spec ${url} is ${declared} bytes; the limit is ${MAX_SPEC_BYTES}`);
  const body = await readCapped(response, url);
  return { document: parseSpecText(body, url), etag };
}

async function readCapped(response: Response, url: string): Promise<string> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (response.body) {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      total += chunk.byteLength;
      if (total > MAX_SPEC_BYTES)
        throw new SpecError(`spec ${url} is larger than the ${MAX_SPEC_BYTES}-byte limit`);
      chunks.push(chunk);
    }
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** JSON when it looks like JSON (fast path for 13 MB documents), YAML otherwise; errors give the line. */
export function parseSpecText(text: string, where: string): object {
  // Looks at the first meaningful character without copying a 13 MB string (JSON.parse skips whitespace itself).
  const first = /[^\s\uFEFF]/.exec(text.length > 4096 ? text.slice(0, 4096) : text)?.[0];
  const withoutBom = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (first === undefined && /^\s*$/.test(withoutBom)) throw new SpecError(`spec ${where} is empty`);
  const trimmed = first === '{' || first === '[' ? withoutBom : withoutBom.trimStart();
  let value: unknown;
  if (first === '{' || first === '[') {
    try {
      value = JSON.parse(trimmed);
    } catch (error) {
      throw new SpecError(`spec ${where} is not valid JSON: ${(error as Error).message}`);
    }
  } else {
    try {
      value = parseYaml(trimmed, { maxAliasCount: 1000, uniqueKeys: true, prettyErrors: true });
    } catch (error) {
      const detail =
        error instanceof YAMLParseError ? error.message.split('\n')[0] : (error as Error).message;
      throw new SpecError(`spec ${where} is not valid YAML: ${detail}`);
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new SpecError(
      `spec ${where} must be a JSON or YAML object (an OpenAPI document), got ${Array.isArray(value) ? 'an array' : typeof value}`,
    );
  }
  return value;
}
