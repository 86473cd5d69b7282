// The load client: undici for request/response rows, curl and wrk (C clients) where the client
// itself would otherwise be the bottleneck (many large downloads at once, sustained blob GETs).
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent, request, type Dispatcher } from 'undici';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

export function agentFor(connections: number): Agent {
  return new Agent({
    connections,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    bodyTimeout: 0,
    headersTimeout: 0,
  });
}

async function expectStatus(res: Dispatcher.ResponseData, wanted: number[], what: string): Promise<void> {
  if (wanted.includes(res.statusCode)) return;
  const text = await res.body.text().catch(() => '');
  throw new Error(`${what}: HTTP ${res.statusCode} ${text.slice(0, 300)}`);
}

function resolveLocation(base: string, location: string | string[] | undefined): URL {
  if (typeof location !== 'string') throw new Error('upload response has no Location header');
  return new URL(location, base);
}

/** A blob to push: bytes in memory or a file on disk, with its digest known up front. */
export type BlobSource = { digest: string; size: number } & ({ bytes: Buffer } | { file: string });

/** The push a real client does: POST, one streamed PATCH with the whole blob, PUT ?digest=. */
export async function pushBlob(
  base: string,
  repo: string,
  blob: BlobSource,
  dispatcher: Dispatcher,
): Promise<void> {
  const start = await request(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST', dispatcher });
  await expectStatus(start, [202], `POST upload to ${repo}`);
  await start.body.dump();
  const patchUrl = resolveLocation(base, start.headers.location);
  const body = 'bytes' in blob ? blob.bytes : createReadStream(blob.file, { highWaterMark: 1024 * 1024 });
  const patch = await request(patchUrl, {
    method: 'PATCH',
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(blob.size) },
    body,
    dispatcher,
  });
  await expectStatus(patch, [202], `PATCH upload to ${repo}`);
  await patch.body.dump();
  const putUrl = resolveLocation(base, patch.headers.location);
  putUrl.searchParams.set('digest', blob.digest);
  const put = await request(putUrl, { method: 'PUT', headers: { 'content-length': '0' }, dispatcher });
  await expectStatus(put, [201], `PUT upload to ${repo}`);
  await put.body.dump();
}

/** GETs a blob and drains it, checking the length so a short read is never counted as a pull. */
export async function pullBlob(
  base: string,
  repo: string,
  digest: string,
  size: number,
  dispatcher: Dispatcher,
): Promise<void> {
  const res = await request(`${base}/v2/${repo}/blobs/${digest}`, { method: 'GET', dispatcher });
  await expectStatus(res, [200], `GET blob ${digest}`);
  let received = 0;
  for await (const chunk of res.body) received += (chunk as Buffer).length;
  if (received !== size) throw new Error(`GET blob ${digest}: ${received} bytes, expected ${size}`);
}

export async function putManifest(
  base: string,
  repo: string,
  reference: string,
  manifest: Buffer,
  dispatcher: Dispatcher,
): Promise<void> {
  const res = await request(`${base}/v2/${repo}/manifests/${reference}`, {
    method: 'PUT',
    headers: { 'content-type': OCI_MANIFEST },
    body: manifest,
    dispatcher,
  });
  await expectStatus(res, [201], `PUT manifest ${repo}:${reference}`);
  await res.body.dump();
}

export async function manifestGet(
  base: string,
  repo: string,
  reference: string,
  dispatcher: Dispatcher,
): Promise<void> {
  const res = await request(`${base}/v2/${repo}/manifests/${reference}`, {
    method: 'GET',
    headers: { accept: OCI_MANIFEST },
    dispatcher,
  });
  await expectStatus(res, [200], `GET manifest ${repo}:${reference}`);
  const text = await res.body.text();
  if (!text.includes('schemaVersion')) throw new Error('manifest GET returned no manifest');
}

/**
 * HEAD through node:http with a keep-alive agent. Not undici: undici closes the connection after
 * every HEAD (nodejs/undici#258), which would measure TCP connection setup instead of the registry.
 * Real clients (containers/image, docker) keep the connection.
 */
export function manifestHead(base: string, repo: string, reference: string, agent: HttpAgent): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${base}/v2/${repo}/manifests/${reference}`,
      { method: 'HEAD', headers: { accept: OCI_MANIFEST }, agent },
      (res) => {
        res.resume();
        res.once('end', () => {
          if (res.statusCode === 200 && res.headers['docker-content-digest']) resolve();
          else reject(new Error(`HEAD manifest ${repo}:${reference}: HTTP ${res.statusCode}`));
        });
      },
    );
    req.once('error', reject);
    req.end();
  });
}

export function keepAliveAgent(connections: number): HttpAgent {
  return new HttpAgent({ keepAlive: true, maxSockets: connections });
}

/** Every tag of a repository, following `Link` pages when the registry paginates. */
export async function listAllTags(base: string, repo: string, dispatcher: Dispatcher): Promise<string[]> {
  const tags: string[] = [];
  let next: string | undefined = `${base}/v2/${repo}/tags/list`;
  while (next) {
    const res: Dispatcher.ResponseData = await request(next, { method: 'GET', dispatcher });
    await expectStatus(res, [200], `GET tags of ${repo}`);
    const body = (await res.body.json()) as { tags: string[] | null };
    tags.push(...(body.tags ?? []));
    const link: unknown = res.headers.link;
    const match: RegExpExecArray | null =
      typeof link === 'string' ? /<([^>]+)>;\s*rel="next"/.exec(link) : null;
    next = match ? new URL(match[1]!, base).toString() : undefined;
  }
  return tags;
}

/** Runs `count` curl downloads of `url` at once; resolves with the wall time once all finished. */
export async function curlBurst(url: string, count: number, expectedBytes: number): Promise<number> {
  const started = performance.now();
  await Promise.all(Array.from({ length: count }, () => curlOnce(url, expectedBytes)));
  return performance.now() - started;
}

function curlOnce(url: string, expectedBytes: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const child = spawn('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code} %{size_download}', url], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    // 'close', not 'exit': only then has everything curl printed been read.
    child.once('close', (exit, signal) => {
      const [code, bytes] = out.trim().split(' ');
      if (exit === 0 && code === '200' && Number(bytes) === expectedBytes) resolve();
      else
        reject(
          new Error(
            `curl ${url}: exit ${exit ?? signal}, HTTP ${code}, ${bytes} bytes (expected ${expectedBytes}) ${err.trim()}`,
          ),
        );
    });
  });
}

/** wrk against one URL; returns bytes per second and requests per second from its report. */
export async function wrk(
  url: string,
  connections: number,
  seconds: number,
): Promise<{ bytesPerSec: number; requestsPerSec: number }> {
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(
      'wrk',
      ['-t', String(Math.min(2, connections)), '-c', String(connections), '-d', `${seconds}s`, url],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    child.stderr.on('data', (d: Buffer) => (text += d.toString()));
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve(text) : reject(new Error(`wrk exited ${code}: ${text}`)),
    );
  });
  if (/Non-2xx or 3xx responses/.test(out)) throw new Error(`wrk got error responses from ${url}:\n${out}`);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const transfer = /Transfer\/sec:\s+([\d.]+)(B|KB|MB|GB)/.exec(out);
  if (!rps || !transfer) throw new Error(`cannot read wrk's report:\n${out}`);
  const unit = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }[transfer[2] as 'B' | 'KB' | 'MB' | 'GB'];
  return { requestsPerSec: Number(rps[1]), bytesPerSec: Number(transfer[1]) * unit };
}
