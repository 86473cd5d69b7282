// Builds test images offline (umoci, or OCI layouts written by hand) and runs the real clients.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

/** Runs a command, resolves with its stdout; rejects with the command line, exit code and stderr. */
export function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.once('error', reject);
    // 'close', not 'exit': only then has all of the output been read.
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else
        reject(
          new CommandError(
            `${command} ${args.join(' ')} exited with ${code ?? signal}:\n${stderr}${stdout}`,
            stderr,
          ),
        );
    });
  });
}

export class CommandError extends Error {
  constructor(
    message: string,
    readonly stderr: string,
  ) {
    super(message);
  }
}

/**
 * An OCI image layout built with umoci, no network: a text file and `randomBytes` of random data
 * (so each test's layers are unique), tagged `tag`. Returns the layout path.
 */
export async function umociImage(dir: string, tag: string, randomSize = 256 * 1024): Promise<string> {
  const files = join(dir, 'files');
  mkdirSync(files, { recursive: true });
  writeFileSync(join(files, 'hello.txt'), `hello from an offline OCI image ${tag}\n`);
  writeFileSync(join(files, 'random.bin'), randomBytes(randomSize));
  const layout = join(dir, 'layout');
  await run('umoci', ['init', '--layout', layout]);
  await run('umoci', ['new', '--image', `${layout}:${tag}`]);
  await run('umoci', ['insert', '--image', `${layout}:${tag}`, join(files, 'hello.txt'), '/hello.txt']);
  await run('umoci', [
    'insert',
    '--image',
    `${layout}:${tag}`,
    join(files, 'random.bin'),
    '/data/random.bin',
  ]);
  await run('umoci', [
    'config',
    '--image',
    `${layout}:${tag}`,
    '--config.cmd',
    '/bin/true',
    '--os',
    'linux',
    '--architecture',
    'amd64',
  ]);
  await run('umoci', ['gc', '--layout', layout]);
  return layout;
}

/** sha256 of every blob in an OCI layout, sorted: two layouts with equal lists hold identical bytes. */
export function layoutBlobDigests(layout: string): string[] {
  const dir = join(layout, 'blobs', 'sha256');
  return readdirSync(dir)
    .map((name) => {
      const actual = createHash('sha256')
        .update(readFileSync(join(dir, name)))
        .digest('hex');
      if (actual !== name) throw new Error(`blob ${name} in ${layout} has digest ${actual}`);
      return `sha256:${name}`;
    })
    .sort();
}

/** The manifest digest a layout's index.json names for a tag. */
export function layoutManifestDigest(layout: string, tag: string): string {
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as {
    manifests: { digest: string; annotations?: Record<string, string> }[];
  };
  const entry = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
  if (!entry) throw new Error(`no tag ${tag} in ${layout}/index.json`);
  return entry.digest;
}

function writeBlob(layout: string, bytes: Buffer): { digest: string; size: number } {
  const hex = createHash('sha256').update(bytes).digest('hex');
  writeFileSync(join(layout, 'blobs', 'sha256', hex), bytes);
  return { digest: `sha256:${hex}`, size: bytes.length };
}

/**
 * Writes a multi-architecture OCI layout by hand: one image per platform (its own config and a small
 * layer), and an image index tagged `tag` listing them with their platforms.
 */
export function writeMultiArchLayout(
  layout: string,
  tag: string,
  platforms: { os: string; architecture: string }[],
): { indexDigest: string; manifestDigests: string[] } {
  mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const manifests = platforms.map((platform) => {
    // Gzipped, as pushed layers are: containers/image compresses plain tar layers on the way to a registry,
    // which would change every digest. (The bytes inside are not a real tar; nothing here unpacks them.)
    const content = randomBytes(2048);
    const layer = writeBlob(layout, gzipSync(content));
    const config = writeBlob(
      layout,
      Buffer.from(
        JSON.stringify({ ...platform, rootfs: { type: 'layers', diff_ids: [sha256(content)] }, config: {} }),
      ),
    );
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }],
      }),
    );
    return { ...writeBlob(layout, manifest), platform };
  });
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: manifests.map((m) => ({
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: m.digest,
        size: m.size,
        platform: m.platform,
      })),
    }),
  );
  const indexBlob = writeBlob(layout, index);
  writeFileSync(
    join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.index.v1+json',
          ...indexBlob,
          annotations: { 'org.opencontainers.image.ref.name': tag },
        },
      ],
    }),
  );
  return { indexDigest: indexBlob.digest, manifestDigests: manifests.map((m) => m.digest) };
}

export function sha256(bytes: Buffer | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}
