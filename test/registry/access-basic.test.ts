import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { registryAuthSchema } from '../../src/config/registry-auth.js';
import { createAccessControl } from '../../src/registry/access/index.js';
import { basic, capturingLogger, startAccessApp } from '../e2e/helpers/registry-access-app.js';
import { tempDir } from '../support/temp.js';

// Cost 4 keeps the suite fast; the format is the same as htpasswd -B's cost 5+.
const hash = (pw: string, prefix = '$2y$') => bcrypt.hashSync(pw, 4).replace(/^\$2[ab]\$/, prefix);

function setup(auth: Record<string, unknown>, htpasswdLines?: string[]) {
  const dir = tempDir('berth-access-');
  if (htpasswdLines) writeFileSync(join(dir, 'htpasswd'), htpasswdLines.join('\n') + '\n');
  const config = registryAuthSchema.parse({ ...(htpasswdLines ? { htpasswd: 'htpasswd' } : {}), ...auth });
  const log = capturingLogger();
  const access = createAccessControl(config, {
    dataDir: join(dir, 'data'),
    baseDir: dir,
    logger: log.logger,
  });
  return { dir, access, log };
}

async function call(url: string, method: string, path: string, authorization?: string) {
  const res = await fetch(url + path, {
    method,
    headers: authorization ? { authorization } : {},
    ...(method === 'PUT' ? { body: '{}' } : {}),
  });
  const body = (await res.json()) as { errors?: { code: string; message: string }[]; subject?: string };
  return { status: res.status, challenge: res.headers.get('www-authenticate'), body };
}

test('with no htpasswd file the registry is open', async () => {
  const { access } = setup({});
  const { app, url } = await startAccessApp(access);
  try {
    assert.equal((await call(url, 'GET', '/v2/')).status, 200);
    assert.equal((await call(url, 'PUT', '/v2/a/b/manifests/v1')).status, 200);
    assert.equal((await call(url, 'DELETE', '/v2/a/b/manifests/v1')).status, 200);
  } finally {
    await app.close();
  }
});

test('basic auth: anonymous pull on, push needs a valid user', async () => {
  const { access, log } = setup({}, [`alice:${hash('s3cret-alice')}`, `bob:${hash('s3cret-bob', '$2b$')}`]);
  const { app, url } = await startAccessApp(access);
  try {
    // /v2/ always challenges anonymous callers so clients learn to send credentials.
    const ping = await call(url, 'GET', '/v2/');
    assert.equal(ping.status, 401);
    assert.equal(ping.challenge, 'Basic realm="berth-registry"');
    assert.equal(ping.body.errors?.[0]?.code, 'UNAUTHORIZED');
    // containers/image sends empty Basic credentials when it has none: treated as anonymous.
    assert.equal((await call(url, 'GET', '/v2/', 'Basic Og==')).status, 401);
    assert.equal((await call(url, 'GET', '/v2/demo/app/manifests/v1')).status, 200);
    assert.equal((await call(url, 'GET', '/v2/demo/app/manifests/v1', 'Basic Og==')).status, 200);

    const anonPush = await call(url, 'PUT', '/v2/demo/app/manifests/v1');
    assert.equal(anonPush.status, 401);
    assert.equal(anonPush.body.errors?.[0]?.code, 'UNAUTHORIZED');

    const ok = await call(url, 'GET', '/v2/', basic('alice', 's3cret-alice'));
    assert.equal(ok.status, 200);
    assert.equal(ok.body.subject, 'alice');
    assert.equal(
      (await call(url, 'PUT', '/v2/demo/app/manifests/v1', basic('bob', 's3cret-bob'))).status,
      200,
    );
    assert.equal(
      (await call(url, 'DELETE', '/v2/demo/app/manifests/v1', basic('alice', 's3cret-alice'))).status,
      200,
    );

    // A wrong password is an error even where anonymous access would do: the user should know.
    const wrong = await call(url, 'GET', '/v2/demo/app/manifests/v1', basic('alice', 'nope'));
    assert.equal(wrong.status, 401);
    assert.match(wrong.body.errors?.[0]?.message ?? '', /wrong user name or password/);
    assert.equal((await call(url, 'GET', '/v2/', basic('mallory', 's3cret-alice'))).status, 401);
    assert.equal((await call(url, 'GET', '/v2/', 'Basic !!!')).status, 401);
    assert.equal((await call(url, 'GET', '/v2/', 'Digest abc')).status, 401);
    assert.equal((await call(url, 'GET', '/v2/', 'Bearer abc')).status, 401);

    assert.ok(!log.text().includes('s3cret'), 'passwords never reach the log');
    assert.match(log.text(), /"user":"alice".*wrong user name or password/);
  } finally {
    await app.close();
  }
});

test('basic auth: anonymous pull off refuses anonymous pull and catalog', async () => {
  const { access } = setup({ anonymousPull: false }, [`alice:${hash('pw')}`]);
  const { app, url } = await startAccessApp(access);
  try {
    assert.equal((await call(url, 'GET', '/v2/demo/manifests/v1')).status, 401);
    assert.equal((await call(url, 'GET', '/v2/_catalog')).status, 401);
    assert.equal((await call(url, 'GET', '/v2/demo/manifests/v1', basic('alice', 'pw'))).status, 200);
    assert.equal((await call(url, 'GET', '/v2/_catalog', basic('alice', 'pw'))).status, 200);
  } finally {
    await app.close();
  }
});

test('per-user, per-repository permissions: 403 DENIED for a known user without the grant', async () => {
  const { access } = setup(
    {
      anonymousPull: false,
      permissions: [
        { users: ['alice'], repositories: ['*'], actions: ['pull', 'push', 'delete'] },
        { users: ['bob'], repositories: ['team/*'], actions: ['pull', 'push'] },
        { users: ['*'], repositories: ['public'], actions: ['pull'] },
      ],
    },
    [`alice:${hash('a')}`, `bob:${hash('b')}`, `carol:${hash('c')}`],
  );
  const { app, url } = await startAccessApp(access);
  try {
    const bob = basic('bob', 'b');
    assert.equal((await call(url, 'PUT', '/v2/team/api/manifests/v1', bob)).status, 200);
    assert.equal((await call(url, 'PUT', '/v2/team/deep/nested/manifests/v1', bob)).status, 200);
    const del = await call(url, 'DELETE', '/v2/team/api/manifests/v1', bob);
    assert.equal(del.status, 403);
    assert.equal(del.body.errors?.[0]?.code, 'DENIED');
    assert.match(del.body.errors?.[0]?.message ?? '', /user "bob" may not delete repository "team\/api"/);
    assert.equal((await call(url, 'GET', '/v2/other/manifests/v1', bob)).status, 403);
    // `team/*` does not match `teamx/...` nor `team` itself.
    assert.equal((await call(url, 'GET', '/v2/teamx/a/manifests/v1', bob)).status, 403);
    assert.equal((await call(url, 'GET', '/v2/public/manifests/v1', basic('carol', 'c'))).status, 200);
    assert.equal((await call(url, 'PUT', '/v2/public/manifests/v1', basic('carol', 'c'))).status, 403);
    // The catalog names every repository: only a pull grant on `*` lists it.
    assert.equal((await call(url, 'GET', '/v2/_catalog', bob)).status, 403);
    assert.equal((await call(url, 'GET', '/v2/_catalog', basic('alice', 'a'))).status, 200);
  } finally {
    await app.close();
  }
});

test('htpasswd: non-bcrypt entries are skipped with a warning that shows no hash; edits are picked up', async () => {
  const md5 = '$apr1$abcdefgh$0123456789abcdefghijkl';
  const { dir, access, log } = setup({}, [
    '# comment',
    `alice:${hash('old')}`,
    `legacy:${md5}`,
    'garbage-line',
  ]);
  const { app, url } = await startAccessApp(access);
  try {
    assert.equal((await call(url, 'GET', '/v2/', basic('legacy', 'x'))).status, 401);
    assert.match(log.text(), /"user":"legacy".*only user:bcrypt entries/);
    assert.match(log.text(), /"line":4/);
    assert.ok(!log.text().includes(md5));
    assert.equal((await call(url, 'GET', '/v2/', basic('alice', 'old'))).status, 200);

    writeFileSync(join(dir, 'htpasswd'), `alice:${hash('new')}\n`);
    // The file is looked at once a second at most: the old password works until the reload is seen.
    const deadline = Date.now() + 30_000;
    while ((await call(url, 'GET', '/v2/', basic('alice', 'old'))).status !== 401) {
      assert.ok(Date.now() < deadline, 'the new htpasswd file was never read');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal((await call(url, 'GET', '/v2/', basic('alice', 'new'))).status, 200);
  } finally {
    await app.close();
  }
});

test('a missing htpasswd file fails at start with the key path', () => {
  const config = registryAuthSchema.parse({ htpasswd: 'does-not-exist' });
  assert.throws(
    () =>
      createAccessControl(config, { dataDir: tmpdir(), baseDir: tmpdir(), logger: capturingLogger().logger }),
    /registry\.auth\.htpasswd: cannot read .*does-not-exist: ENOENT/,
  );
});
