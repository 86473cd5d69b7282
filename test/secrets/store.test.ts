import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  parseReference,
  resolveSettings,
  secretStoreOf,
  SecretStore,
  UnresolvedReference,
} from '../../src/secrets/index.js';

// Issue 13, item 7: Berth's secret store — AES-256-GCM at rest, the key file 0600 outside the
// data folder, names and versions listed but never values — and the reference forms app settings use.

async function folder(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-secrets-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const VALUE = 'correct horse battery staple';

test('versions are encrypted at rest; list shows names and versions only; the key is 0600 beside the data folder', async (t) => {
  const base = await folder(t);
  const store = secretStoreOf({ dataDir: 'data', secrets: {} }, base);
  assert.equal(store.keyFile, join(base, 'data-secrets.key'), 'not inside the data folder');
  assert.equal(await store.set('db-password', VALUE), 1);
  assert.equal(await store.set('db-password', `${VALUE}-2`), 2);
  assert.equal((await stat(store.keyFile)).mode & 0o777, 0o600);
  for (const file of await readdir(join(base, 'data'), { recursive: true })) {
    const path = join(base, 'data', file);
    if ((await stat(path)).isFile())
      assert.ok(!(await readFile(path, 'utf8')).includes('horse'), `${file} holds no value`);
  }
  assert.deepEqual(await store.get('db-password'), { value: `${VALUE}-2`, version: 2 });
  assert.deepEqual(
    await store.get('DB-Password', 1),
    { value: VALUE, version: 1 },
    'names are case-insensitive',
  );
  const listed = await store.list();
  assert.deepEqual(
    listed.map((s) => ({ name: s.name, versions: s.versions.map((v) => v.version) })),
    [{ name: 'db-password', versions: [1, 2] }],
  );
  assert.ok(!JSON.stringify(listed).includes('horse'));
  assert.equal(await store.delete('db-password'), true);
  assert.equal(await store.delete('db-password'), false);
  await assert.rejects(store.get('db-password'), /not in the secret store/);
  await assert.rejects(store.set('../escape', 'x'), /not a secret name/);
});

test('an altered file, a version moved to another name, another key, or a readable key file are refused without the value', async (t) => {
  const base = await folder(t);
  const store = new SecretStore(join(base, 'store'), join(base, 'key'));
  await store.set('a', VALUE);
  await store.set('b', 'other value');
  const fileA = join(base, 'store', 'a.json');
  const fileB = join(base, 'store', 'b.json');
  const a = JSON.parse(await readFile(fileA, 'utf8')) as { versions: { data: string }[] };
  const b = JSON.parse(await readFile(fileB, 'utf8')) as { name: string; versions: unknown[] };
  // b's file now carries a's ciphertext: the authenticated name does not match.
  await writeFile(fileB, JSON.stringify({ ...b, versions: a.versions }));
  await assert.rejects(new SecretStore(join(base, 'store'), join(base, 'key')).get('b'), (error: Error) => {
    assert.match(error.message, /does not decrypt/);
    assert.ok(!error.message.includes('horse'));
    return true;
  });
  const flipped = Buffer.from(a.versions[0]!.data, 'base64');
  flipped[0]! ^= 1;
  a.versions[0]!.data = flipped.toString('base64');
  await writeFile(fileA, JSON.stringify(a));
  await assert.rejects(store.get('a'), /does not decrypt/);
  // Another key file: nothing decrypts.
  await store.set('c', VALUE);
  await assert.rejects(
    new SecretStore(join(base, 'store'), join(base, 'other-key')).get('c'),
    /does not decrypt/,
  );
  await chmod(join(base, 'key'), 0o644);
  await assert.rejects(
    new SecretStore(join(base, 'store'), join(base, 'key')).get('c'),
    /can be read by others/,
  );
});

test('reference forms: Key Vault SecretUri and VaultName/SecretName, @secret(name); malformed ones are errors', () => {
  assert.deepEqual(
    parseReference('@Microsoft.KeyVault(SecretUri=https://v.vault.azure.net/secrets/db-password/)'),
    {
      text: '@Microsoft.KeyVault(SecretUri=https://v.vault.azure.net/secrets/db-password/)',
      name: 'db-password',
      version: undefined,
    },
  );
  assert.equal(
    parseReference('@Microsoft.KeyVault(SecretUri=https://v.vault.azure.net/secrets/x/3)')?.version,
    3,
  );
  assert.deepEqual(parseReference('@Microsoft.KeyVault(VaultName=v;SecretName=api-key;SecretVersion=2)'), {
    text: '@Microsoft.KeyVault(VaultName=v;SecretName=api-key;SecretVersion=2)',
    name: 'api-key',
    version: 2,
  });
  assert.equal(parseReference('@secret(demo-secret)')?.name, 'demo-secret');
  assert.equal(parseReference('plain value'), undefined);
  assert.equal(parseReference('@secretary'), undefined);
  assert.throws(
    () => parseReference('@Microsoft.KeyVault(SecretUri=http://v/secrets/x)'),
    /SecretUri must be/,
  );
  assert.throws(() => parseReference('@Microsoft.KeyVault(SecretName=x)'), /VaultName= and SecretName=/);
});

test('resolveSettings: values for references, versions beside them; a missing secret names the setting and the reference', async (t) => {
  const base = await folder(t);
  const store = new SecretStore(join(base, 'store'), join(base, 'key'));
  await store.set('demo-secret', VALUE);
  const resolved = await resolveSettings({ A: 'plain', B: '@secret(demo-secret)' }, store);
  assert.deepEqual(resolved.env, { A: 'plain', B: VALUE });
  assert.deepEqual(resolved.versions, { B: 1 });
  await assert.rejects(
    resolveSettings({ C: '@Microsoft.KeyVault(VaultName=v;SecretName=missing)' }, store),
    (error: Error) => {
      assert.ok(error instanceof UnresolvedReference);
      assert.match(error.message, /app setting C .*VaultName=v;SecretName=missing.*berth secret set missing/);
      return true;
    },
  );
});
