import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { call } from '../sites/helpers.js';
import { authHarness, authSection, EXAMPLE_SITES, type AuthHarness } from './support/site.js';

// Issue 13, items 3, 4 and 9: browser sign-in end to end in headless Chromium (Debian's) against
// a real OpenID provider: /.auth/login with PKCE, the encrypted session cookie, the identity the
// app sees, /.auth/me, /.auth/refresh, /.auth/logout; open redirects, tampered and replayed
// session cookies refused.

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--no-first-run',
];

async function launch(t: TestContext): Promise<Browser | undefined> {
  if (!existsSync(CHROMIUM)) {
    t.skip('chromium not installed: apt-get install chromium');
    return undefined;
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  t.after(() => browser.close());
  return browser;
}

async function site(t: TestContext): Promise<AuthHarness> {
  const h = await authHarness(t, {
    name: 'secure',
    root: `${EXAMPLE_SITES}secure-mcp`,
    command: 'node server.mjs',
    auth: (issuer) =>
      authSection(issuer, {
        globalValidation: { unauthenticatedClientAction: 'RedirectToLoginPage' },
        login: { tokenStore: { enabled: true } },
      }),
  });
  h.provider.setRedirectUris([`${h.origin}/.auth/login/test/callback`]);
  return h;
}

test('Chromium signs in through /.auth/login (PKCE), the app sees who; me, refresh, logout; the old cookie replayed is refused', async (t) => {
  const browser = await launch(t);
  if (!browser) return;
  const h = await site(t);
  const page = await browser.newPage();
  const seen: string[] = [];
  page.on('request', (r) => seen.push(r.url()));
  const response = await page.goto(`${h.origin}/whoami?x=1`);
  assert.equal(response?.status(), 200);
  assert.equal(page.url(), `${h.origin}/whoami?x=1`, 'back where the browser started');
  const authorize = new URL(seen.find((u) => u.startsWith(`${h.provider.issuer}/auth`))!);
  assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
  assert.ok(authorize.searchParams.get('state') && authorize.searchParams.get('nonce'));
  const who = JSON.parse((await page.textContent('body'))!) as Record<string, unknown>;
  assert.equal(who.authenticated, true);
  assert.equal(who.id, 'alice');
  assert.equal(who.name, 'Alice Example');
  assert.equal(who.idp, 'test');

  const cookies = await page.context().cookies(h.origin);
  const session = cookies.find((c) => c.name === 'AppServiceAuthSession')!;
  assert.ok(session, 'the session cookie');
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, 'Lax');
  assert.ok(
    !session.value.includes('alice') && session.value.split('.').length === 5,
    'an encrypted JWE, not readable claims',
  );

  await page.goto(`${h.origin}/.auth/me`);
  const [me] = JSON.parse((await page.textContent('body'))!) as {
    provider_name: string;
    user_id: string;
    user_claims: { typ: string; val: string }[];
    access_token?: string;
  }[];
  assert.equal(me!.provider_name, 'test');
  assert.equal(me!.user_id, 'alice');
  assert.ok(me!.user_claims.some((c) => c.typ === 'email' && c.val === 'alice@example.test'));
  assert.ok(me!.access_token, 'the token store keeps the access token');

  const refreshed = await page.goto(`${h.origin}/.auth/refresh`);
  assert.equal(refreshed?.status(), 200, await refreshed?.text());
  const [after] = JSON.parse((await page.textContent('body'))!) as { access_token?: string }[];
  assert.ok(after!.access_token && after!.access_token !== me!.access_token, 'a new access token');

  const old = (await page.context().cookies(h.origin)).find((c) => c.name === 'AppServiceAuthSession')!.value;
  const out = await page.goto(
    `${h.origin}/.auth/logout?post_logout_redirect_uri=${encodeURIComponent('/.auth/me')}`,
  );
  assert.equal(page.url(), `${h.origin}/.auth/me`, 'sent back to the site itself');
  assert.equal(out?.status(), 401, 'signed out');
  assert.ok(
    !(await page.context().cookies(h.origin)).some((c) => c.name === 'AppServiceAuthSession' && c.value),
    'the session cookie is cleared',
  );

  // The cookie from before the logout, sent again by something that kept it: refused.
  const replayed = await call(h.frontdoor.port, h.host, '/whoami', {
    headers: { cookie: `AppServiceAuthSession=${old}` },
  });
  assert.equal(replayed.status, 401);
  assert.match(replayed.body, /signed out/);
  const tampered = `${old.slice(0, -6)}${old.slice(-6) === 'AAAAAA' ? 'BBBBBB' : 'AAAAAA'}`;
  const altered = await call(h.frontdoor.port, h.host, '/whoami', {
    headers: { cookie: `AppServiceAuthSession=${tampered}` },
  });
  assert.equal(altered.status, 401);
  assert.match(altered.body, /not valid/);
});

test('open redirects are refused at login and logout; a callback without its login cookie is refused', async (t) => {
  const h = await site(t);
  for (const target of [
    'https://evil.example/',
    '//evil.example/',
    '/\\evil.example/',
    '/\\/evil.example',
    'javascript:alert(1)',
    `${h.origin}.evil.example/`,
    'http://secure.localhost:1/',
    '/ok\r\nSet-Cookie: x=1',
  ]) {
    for (const endpoint of [
      '/.auth/login/test?post_login_redirect_uri=',
      '/.auth/logout?post_logout_redirect_uri=',
    ]) {
      const reply = await call(h.frontdoor.port, h.host, `${endpoint}${encodeURIComponent(target)}`);
      assert.equal(reply.status, 400, `${endpoint}${target}`);
      assert.equal(reply.headers.location, undefined);
    }
  }
  const fine = await call(
    h.frontdoor.port,
    h.host,
    `/.auth/login/test?post_login_redirect_uri=${encodeURIComponent('/whoami?a=b')}`,
  );
  assert.equal(fine.status, 302);
  assert.ok(String(fine.headers.location).startsWith(`${h.provider.issuer}/auth?`));
  // A forged callback (no login cookie, or another state): no session is made.
  const forged = await call(h.frontdoor.port, h.host, '/.auth/login/test/callback?code=abc&state=xyz');
  assert.equal(forged.status, 400);
  assert.match(forged.body, /state does not match/);
  assert.ok(!String(forged.headers['set-cookie'] ?? '').includes('AppServiceAuthSession=e'));
  // A page request without a session is sent to sign in; an API call gets 401.
  const page = await call(h.frontdoor.port, h.host, '/whoami', { headers: { accept: 'text/html' } });
  assert.equal(page.status, 302);
  assert.equal(
    page.headers.location,
    `/.auth/login/test?post_login_redirect_uri=${encodeURIComponent('/whoami')}`,
  );
  assert.equal((await call(h.frontdoor.port, h.host, '/whoami')).status, 401);
});
