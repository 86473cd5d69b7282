// podman (root, no daemon) pushes to and pulls from `berth registry serve` over plain HTTP on
// loopback: anonymously, then through `podman login` against Docker token authentication.
// buildah builds the image (same containers-storage as podman), so no base image is downloaded.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { CommandError, run, sha256 } from './helpers/registry-images.js';
import { missingTools, startBerth, type RunningRegistry } from './helpers/registry-servers.js';

const skip = missingTools('podman', 'buildah', 'skopeo');
const CAROL = { user: 'carol', password: 'Carol-pw-5e1d' };

/** A one-file image built from scratch with buildah; returns its local name. */
async function buildImage(work: string, id: string): Promise<string> {
  const local = `localhost/berth-e2e-podman-${id}:v1`;
  writeFileSync(join(work, 'hello.txt'), `hello from podman ${id}\n`);
  const container = (await run('buildah', ['from', 'scratch'])).trim();
  await run('buildah', ['copy', container, join(work, 'hello.txt'), '/hello.txt']);
  await run('buildah', ['config', '--cmd', '["/hello.txt"]', '--label', `e2e=${id}`, container]);
  await run('buildah', ['commit', '-q', '--format', 'oci', container, local]);
  await run('buildah', ['rm', container]);
  return local;
}

async function imageId(ref: string): Promise<string> {
  return (await run('podman', ['images', '-q', '--no-trunc', ref])).trim();
}

/** The digest of the manifest the registry serves for `remote`, read with skopeo (a second client). */
async function servedDigest(remote: string, creds?: string): Promise<string> {
  const args = ['inspect', '--raw', '--tls-verify=false', ...(creds ? ['--creds', creds] : [])];
  return sha256(await run('skopeo', [...args, `docker://${remote}`]));
}

describe('podman push and pull against berth registry serve', { skip }, () => {
  const id = `${process.pid}-${randomBytes(3).toString('hex')}`;
  let work: string;
  let berth: RunningRegistry;
  let local: string;
  const removals: string[] = [];

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'berth-e2e-podman-'));
    [berth, local] = await Promise.all([startBerth(join(work, 'berth')), buildImage(work, id)]);
    removals.push(local);
  });
  after(async () => {
    await run('podman', ['rmi', '-f', ...removals]).catch(() => undefined);
    await berth?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test('podman push, then podman pull gets the same manifest and image', async () => {
    const remote = `${berth.host}/podman/hello:v1`;
    const builtId = await imageId(local);
    await run('podman', ['push', '-q', '--tls-verify=false', local, `docker://${remote}`]);
    const pushed = await servedDigest(remote);

    // Remove the local image so the pull has to fetch every blob from Berth.
    await run('podman', ['rmi', '-f', local]);
    removals.push(remote);
    await run('podman', ['pull', '-q', '--tls-verify=false', remote]);
    const pulled = (await run('podman', ['images', '--digests', '--format', '{{.Digest}}', remote])).trim();
    assert.equal(pulled, pushed, 'podman stored the manifest digest the registry served');
    assert.equal(await imageId(remote), builtId, 'same config blob, so the same image ID');
  });

  test('podman push of a second tag reuses the blobs; both tags list', async () => {
    const remote = `${berth.host}/podman/hello`;
    await run('podman', ['tag', `${remote}:v1`, `${remote}:v2`]);
    removals.push(`${remote}:v2`);
    await run('podman', ['push', '-q', '--tls-verify=false', `${remote}:v2`]);
    const tags = (await (await fetch(`${berth.url}/v2/podman/hello/tags/list`)).json()) as { tags: string[] };
    assert.deepEqual(tags.tags, ['v1', 'v2']);
    assert.equal(await servedDigest(`${remote}:v2`), await servedDigest(`${remote}:v1`));
  });
});

describe('podman login against Docker token authentication', { skip }, () => {
  const id = `${process.pid}-${randomBytes(3).toString('hex')}`;
  let work: string;
  let berth: RunningRegistry;
  let local: string;
  let authfile: string;
  const removals: string[] = [];

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'berth-e2e-podman-auth-'));
    authfile = join(work, 'auth.json');
    writeFileSync(authfile, '{"auths":{}}\n'); // podman --authfile wants the file to exist
    writeFileSync(join(work, 'htpasswd'), `${CAROL.user}:${bcrypt.hashSync(CAROL.password, 5)}\n`);
    const configYaml = `registry:
  auth:
    htpasswd: ${join(work, 'htpasswd')}
    scheme: token
    anonymousPull: false
    permissions:
      - { users: [${CAROL.user}], repositories: ["*"], actions: [pull, push] }
`;
    [berth, local] = await Promise.all([
      startBerth(join(work, 'berth'), { configYaml }),
      buildImage(work, id),
    ]);
    removals.push(local);
  });
  after(async () => {
    await run('podman', ['rmi', '-f', ...removals]).catch(() => undefined);
    await berth?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test('without login the push is refused; after podman login it pushes and pulls', async () => {
    const remote = `${berth.host}/secure/hello:v1`;
    const auth = ['--authfile', authfile, '--tls-verify=false'];
    const refused = await run('podman', ['push', '-q', ...auth, local, `docker://${remote}`]).then(
      () => assert.fail('an anonymous push succeeded'),
      (error: unknown) => {
        if (!(error instanceof CommandError)) throw error;
        return error.stderr;
      },
    );
    assert.match(refused, /unauthorized|authentication required|HTTP 401/i);

    await run('podman', ['login', ...auth, '-u', CAROL.user, '-p', CAROL.password, berth.host]);
    await run('podman', ['push', '-q', ...auth, local, `docker://${remote}`]);
    const pushed = await servedDigest(remote, `${CAROL.user}:${CAROL.password}`);
    await run('podman', ['rmi', '-f', local]);
    removals.push(remote);
    await run('podman', ['pull', '-q', ...auth, remote]);
    const pulled = (await run('podman', ['images', '--digests', '--format', '{{.Digest}}', remote])).trim();
    assert.equal(pulled, pushed);
    assert.ok(!berth.output().includes(CAROL.password), 'no password in the log');
  });
});
