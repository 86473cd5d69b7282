// skopeo with --creds against `berth registry serve` with an htpasswd file, first with Basic auth,
// then with Docker token authentication (Bearer challenge, token endpoint, scoped JWTs).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { CommandError, layoutManifestDigest, run, umociImage } from './helpers/registry-images.js';
import { missingTools, startBerth, type RunningRegistry } from './helpers/registry-servers.js';

const skip = missingTools('skopeo', 'umoci');
const ALICE = 'alice:Alice-pw-7f3a';
const BOB = 'bob:Bob-pw-19c2';

/** berth.yaml for startBerth (written into <work>/berth); `htpasswdPath` as the config names it. */
function authConfig(work: string, extra: string, htpasswdPath = join(work, 'htpasswd')): string {
  const htpasswd = join(work, 'htpasswd');
  writeFileSync(
    htpasswd,
    [ALICE, BOB].map((c) => `${c.split(':')[0]}:${bcrypt.hashSync(c.split(':')[1]!, 5)}`).join('\n') + '\n',
  );
  return `log: { level: debug }
registry:
  auth:
    htpasswd: ${htpasswdPath}
${extra}
    permissions:
      - { users: [alice], repositories: ["*"], actions: [pull, push, delete] }
      - { users: [bob], repositories: ["team/*"], actions: [pull, push] }
`;
}

/** Runs skopeo expecting failure; returns its stderr. */
async function refused(args: string[]): Promise<string> {
  try {
    await run('skopeo', args);
  } catch (error) {
    if (error instanceof CommandError) return error.stderr;
    throw error;
  }
  assert.fail(`skopeo ${args.join(' ')} succeeded but should have been refused`);
}

function assertNoSecrets(berth: RunningRegistry): void {
  const output = berth.output();
  assert.ok(output.length > 0, 'berth logged something at debug level');
  for (const secret of [ALICE, BOB].map((c) => c.split(':')[1]!))
    assert.ok(!output.includes(secret), 'no password in the log');
  assert.ok(!/eyJ[\w-]+\.eyJ/.test(output), 'no JWT in the log');
}

describe('skopeo --creds against Basic auth', { skip }, () => {
  let work: string;
  let berth: RunningRegistry;
  let layout: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'berth-e2e-basic-'));
    [berth, layout] = await Promise.all([
      startBerth(join(work, 'berth'), {
        // A relative htpasswd path: resolved against the config file's folder (<work>/berth).
        configYaml: authConfig(work, '    scheme: basic\n    anonymousPull: true', '../htpasswd'),
      }),
      umociImage(join(work, 'image'), 'v1', 64 * 1024),
    ]);
  });
  after(async () => {
    await berth?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test('push needs valid credentials and a grant; anonymous pull works', async () => {
    const src = `oci:${layout}:v1`;
    const digest = layoutManifestDigest(layout, 'v1');
    assert.match(
      await refused(['copy', '-q', '--dest-tls-verify=false', src, `docker://${berth.host}/demo/app:v1`]),
      /authentication required|unauthorized/i,
    );
    assert.match(
      await refused([
        'copy',
        '-q',
        '--dest-tls-verify=false',
        '--dest-creds',
        'alice:wrong',
        src,
        `docker://${berth.host}/demo/app:v1`,
      ]),
      /unauthorized|wrong user name or password/i,
    );
    await run('skopeo', [
      'copy',
      '-q',
      '--dest-tls-verify=false',
      '--dest-creds',
      ALICE,
      src,
      `docker://${berth.host}/demo/app:v1`,
    ]);

    // bob may push under team/ only, and never delete.
    assert.match(
      await refused([
        'copy',
        '-q',
        '--dest-tls-verify=false',
        '--dest-creds',
        BOB,
        src,
        `docker://${berth.host}/other/app:v1`,
      ]),
      /denied|may not push/i,
    );
    await run('skopeo', [
      'copy',
      '-q',
      '--dest-tls-verify=false',
      '--dest-creds',
      BOB,
      src,
      `docker://${berth.host}/team/app:v1`,
    ]);
    assert.match(
      await refused(['delete', '--tls-verify=false', '--creds', BOB, `docker://${berth.host}/team/app:v1`]),
      /denied|may not delete/i,
    );

    // Anonymous pull is on: no credentials needed to read.
    const inspected = JSON.parse(
      await run('skopeo', ['inspect', '--tls-verify=false', `docker://${berth.host}/demo/app:v1`]),
    ) as { Digest: string };
    assert.equal(inspected.Digest, digest);
    await run('skopeo', [
      'copy',
      '-q',
      '--src-tls-verify=false',
      `docker://${berth.host}/team/app:v1`,
      `oci:${join(work, 'pulled')}:v1`,
    ]);

    await run('skopeo', [
      'delete',
      '--tls-verify=false',
      '--creds',
      ALICE,
      `docker://${berth.host}/team/app:v1`,
    ]);
    assert.equal((await fetch(`${berth.url}/v2/team/app/manifests/${digest}`)).status, 404);
    assertNoSecrets(berth);
  });
});

describe('skopeo --creds against Docker token authentication', { skip }, () => {
  let work: string;
  let berth: RunningRegistry;
  let layout: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'berth-e2e-token-'));
    [berth, layout] = await Promise.all([
      startBerth(join(work, 'berth'), {
        configYaml: authConfig(
          work,
          '    scheme: token\n    anonymousPull: false\n    token: { expiry: 2m }',
        ),
      }),
      umociImage(join(work, 'image'), 'v1', 64 * 1024),
    ]);
  });
  after(async () => {
    await berth?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test('the challenge is Bearer with realm and service; skopeo fetches scoped tokens with --creds', async () => {
    const ping = await fetch(`${berth.url}/v2/`);
    assert.equal(ping.status, 401);
    assert.equal(
      ping.headers.get('www-authenticate'),
      `Bearer realm="${berth.url}/auth/token",service="berth-registry"`,
    );

    const src = `oci:${layout}:v1`;
    const digest = layoutManifestDigest(layout, 'v1');
    await run('skopeo', [
      'copy',
      '-q',
      '--dest-tls-verify=false',
      '--dest-creds',
      ALICE,
      src,
      `docker://${berth.host}/demo/app:v1`,
    ]);
    const inspected = JSON.parse(
      await run('skopeo', [
        'inspect',
        '--tls-verify=false',
        '--creds',
        ALICE,
        `docker://${berth.host}/demo/app:v1`,
      ]),
    ) as { Digest: string };
    assert.equal(inspected.Digest, digest);

    // Anonymous pull is off: no token grants it.
    assert.match(
      await refused(['inspect', '--tls-verify=false', `docker://${berth.host}/demo/app:v1`]),
      /unauthorized|authentication required|insufficient_scope/i,
    );
    assert.match(
      await refused([
        'inspect',
        '--tls-verify=false',
        '--creds',
        'alice:nope',
        `docker://${berth.host}/demo/app:v1`,
      ]),
      /unauthorized|wrong user name or password|401/i,
    );

    // bob's token leaves out what he does not hold, and the registry refuses the push.
    assert.match(
      await refused([
        'copy',
        '-q',
        '--dest-tls-verify=false',
        '--dest-creds',
        BOB,
        src,
        `docker://${berth.host}/other/app:v1`,
      ]),
      /denied|forbidden|may not/i,
    );
    assert.equal(
      (
        await fetch(`${berth.url}/v2/other/app/tags/list`, {
          headers: { authorization: `Basic ${Buffer.from(ALICE).toString('base64')}` },
        })
      ).status,
      404,
    );
    await run('skopeo', [
      'copy',
      '-q',
      '--dest-tls-verify=false',
      '--dest-creds',
      BOB,
      src,
      `docker://${berth.host}/team/app:v1`,
    ]);
    const tags = JSON.parse(
      await run('skopeo', [
        'list-tags',
        '--tls-verify=false',
        '--creds',
        BOB,
        `docker://${berth.host}/team/app`,
      ]),
    ) as { Tags: string[] };
    assert.deepEqual(tags.Tags, ['v1']);

    await run('skopeo', [
      'delete',
      '--tls-verify=false',
      '--creds',
      ALICE,
      `docker://${berth.host}/demo/app:v1`,
    ]);
    const gone = await fetch(`${berth.url}/v2/demo/app/manifests/${digest}`, {
      headers: { authorization: `Basic ${Buffer.from(ALICE).toString('base64')}` },
    });
    assert.equal(gone.status, 404);
    // skopeo went through the token endpoint (debug log), and bob's refused scopes were logged by name only.
    assert.match(berth.output(), /"subject":"alice".*"msg":"token issued"/);
    assert.match(berth.output(), /"subject":"bob","refused":\["repository:other\/app:pull,push"\]/);
    assertNoSecrets(berth);
  });
});
