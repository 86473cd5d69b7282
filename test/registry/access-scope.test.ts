import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accessAllows, formatScope, parseScope } from '../../src/registry/access/scope.js';
import { Permissions } from '../../src/registry/access/permissions.js';
import { readCredentials } from '../../src/lib/credentials.js';

test('parseScope reads Docker scopes, including resource classes and names with colons dropped at the ends', () => {
  assert.deepEqual(parseScope('repository:team/app:pull,push'), {
    type: 'repository',
    name: 'team/app',
    actions: ['pull', 'push'],
  });
  assert.deepEqual(parseScope('repository(plugin):a/b:pull'), {
    type: 'repository',
    name: 'a/b',
    actions: ['pull'],
  });
  assert.deepEqual(parseScope('registry:catalog:*'), { type: 'registry', name: 'catalog', actions: ['*'] });
  for (const bad of ['repository', 'repository:a', 'repository:a:', ':a:pull', 'repository::pull'])
    assert.equal(parseScope(bad), null, bad);
  assert.equal(formatScope('a/b', ['pull', 'push']), 'repository:a/b:pull,push');
  assert.equal(formatScope('', ['pull'], true), 'registry:catalog:*');
});

test('accessAllows needs every action on exactly that repository', () => {
  const access = [
    { type: 'repository', name: 'a', actions: ['pull'] },
    { type: 'repository', name: 'b', actions: ['*'] },
  ];
  assert.equal(accessAllows(access, 'a', ['pull']), true);
  assert.equal(accessAllows(access, 'a', ['pull', 'push']), false);
  assert.equal(accessAllows(access, 'a/b', ['pull']), false);
  assert.equal(accessAllows(access, 'b', ['delete']), true);
  assert.equal(accessAllows(access, '', [], true), false);
  assert.equal(accessAllows([{ type: 'registry', name: 'catalog', actions: ['*'] }], '', [], true), true);
});

test('repository patterns: * spans slashes, everything else is literal', () => {
  const p = new Permissions({
    anonymousPull: false,
    htpasswd: 'x',
    permissions: [{ users: ['u'], repositories: ['a.b/*', 'exact'], actions: ['pull'] }],
  });
  assert.equal(p.holds('u', 'a.b/c', 'pull'), true);
  assert.equal(p.holds('u', 'a.b/c/d', 'pull'), true);
  assert.equal(p.holds('u', 'axb/c', 'pull'), false, '. is not a wildcard');
  assert.equal(p.holds('u', 'a.b', 'pull'), false);
  assert.equal(p.holds('u', 'exact', 'pull'), true);
  assert.equal(p.holds('u', 'exact2', 'pull'), false);
  assert.equal(p.holds('u', 'exact', 'push'), false);
  assert.equal(p.holds('other', 'exact', 'pull'), false);
  assert.equal(p.holds(undefined, 'exact', 'pull'), false);
});

test('readCredentials never throws on malformed headers', () => {
  assert.deepEqual(readCredentials({}), { kind: 'none' });
  assert.deepEqual(readCredentials({ authorization: 'Basic Og==' }), { kind: 'none' });
  assert.deepEqual(readCredentials({ authorization: `Basic ${Buffer.from('a:b:c').toString('base64')}` }), {
    kind: 'basic',
    user: 'a',
    password: 'b:c',
  });
  assert.equal(readCredentials({ authorization: 'Basic' }).kind, 'invalid');
  assert.equal(readCredentials({ authorization: 'Bearer' }).kind, 'invalid');
  assert.deepEqual(readCredentials({ authorization: 'bearer abc' }), { kind: 'bearer', token: 'abc' });
  assert.equal(readCredentials({ authorization: 'Negotiate xyz' }).kind, 'invalid');
  assert.equal(readCredentials({ authorization: ['Basic Og==', 'x'] }).kind, 'none');
});
