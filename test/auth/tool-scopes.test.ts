import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requiredScopes } from '../../src/auth/index.js';
import { toolAccessFor } from '../../src/auth/tool-scopes.js';
import { scopeAlternatives, securityOf } from '../../src/mcp/openapi/security.js';

/** The scopes per alternative of an operation's security, as the catalog reads them. */
const scopeRequirements = (document: Record<string, unknown>, op: Record<string, unknown>) => {
  const security = securityOf(document, op);
  return security && scopeAlternatives(security);
};

// Issue 13, item 6: how a tool's scopes are chosen — sites[].mcp.scopes by name, then pattern,
// then the operation's OpenAPI security alternatives (any one suffices).

const challenge = (needed: string[], message: string) => ({
  status: 403,
  message,
  headers: { scope: needed.join(' ') },
});

test('mcp.scopes: an exact name wins over a pattern, the first matching pattern over later ones; prototype names are plain names', () => {
  const scopes = { 'admin_*': ['admin'], admin_read: ['read'], '*_delete': ['delete'] };
  assert.deepEqual(requiredScopes('admin_read', scopes), ['read']);
  assert.deepEqual(requiredScopes('admin_delete', scopes), ['admin']);
  assert.deepEqual(requiredScopes('item_delete', scopes), ['delete']);
  assert.deepEqual(requiredScopes('whoami', scopes), []);
  assert.deepEqual(requiredScopes('constructor', {}), []);
  assert.deepEqual(requiredScopes('a.b', { 'a*b': ['x'] }), ['x'], 'a dot in a name is no regex');
  assert.deepEqual(requiredScopes('aXb', { 'a.b': ['x'] }), []);
});

test('OpenAPI security: the operation list overrides the document; any alternative held suffices; {} needs nothing', () => {
  const document = { security: [{ oauth: ['doc:scope'] }] };
  assert.deepEqual(scopeRequirements(document, {}), [['doc:scope']]);
  assert.deepEqual(scopeRequirements(document, { security: [{ a: ['x', 'y'] }, { b: ['z'] }] }), [
    ['x', 'y'],
    ['z'],
  ]);
  assert.deepEqual(scopeRequirements(document, { security: [] }), [], 'an empty list: no requirement');
  assert.equal(scopeRequirements({}, {}), undefined);

  const access = (granted: string[]) => toolAccessFor(granted, {}, challenge);
  assert.equal(access(['z']).refusal('t', [['x', 'y'], ['z']]), undefined);
  assert.equal(access(['x', 'y']).refusal('t', [['x', 'y'], ['z']]), undefined);
  assert.equal(access([]).refusal('t', [[], ['z']]), undefined, 'an empty alternative: anonymous allowed');
  assert.equal(
    access(['x']).refusal('t', [
      ['x', 'y'],
      ['z', 'w'],
    ])?.headers.scope,
    'x y',
    'the alternative missing fewest',
  );
  // A configured key wins over the document.
  assert.equal(toolAccessFor([], { t: ['cfg'] }, challenge).refusal('t', [['doc']])?.headers.scope, 'cfg');
});
