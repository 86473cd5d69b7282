import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { builtinAuth, builtinMcp, type FrontdoorMiddleware } from '../../../src/frontdoor/index.js';
import { silentLogger } from '../../../src/lib/logger.js';
import { harness, type Harness } from '../../sites/helpers.js';
import { CLIENTS, startProvider, type TestProvider } from './provider.js';

export const EXAMPLE_SITES = new URL('../../../examples/sites/', import.meta.url).pathname;
export const RECORDER = new URL('../../security/fixtures/', import.meta.url).pathname;

/** `sites[].auth` for one custom OpenID provider named `test`. */
export function authSection(issuer: string, extra: Record<string, unknown> = {}, validation = {}) {
  return {
    platform: { enabled: true },
    globalValidation: {
      requireAuthentication: true,
      unauthenticatedClientAction: 'Return401',
      ...((extra.globalValidation as object) ?? {}),
    },
    identityProviders: {
      customOpenIdConnectProviders: {
        test: {
          registration: {
            clientId: CLIENTS.site.id,
            clientCredential: { clientSecretSettingName: 'TEST_CLIENT_SECRET' },
            openIdConnectConfiguration: { issuer },
          },
          validation,
        },
      },
    },
    ...Object.fromEntries(Object.entries(extra).filter(([k]) => k !== 'globalValidation')),
  };
}

export interface AuthHarness extends Harness {
  provider: TestProvider;
  /** `http://<site>.localhost:<port>`: the origin tokens are asked for. */
  origin: string;
  host: string;
}

/**
 * A provider, and a front door whose site `name` runs `command` from `root` with `auth` on (and
 * the built-in MCP when `mcp` is given); torn down after the test.
 */
export async function authHarness(
  t: TestContext,
  site: {
    name?: string;
    root?: string;
    command?: string;
    auth?: (issuer: string) => unknown;
    mcp?: unknown;
    appSettings?: Record<string, string>;
  },
  options: {
    provider?: TestProvider;
    /** Route 127.0.0.1 to the site, so fetch() and SDK clients reach it by URL. */ byAddress?: boolean;
  } = {},
): Promise<AuthHarness> {
  const provider = options.provider ?? (await startProvider());
  const dataDir = await mkdtemp(join(tmpdir(), 'berth-auth-'));
  const name = site.name ?? 'app';
  const middlewares: FrontdoorMiddleware[] = [];
  const h = await harness(
    [
      {
        name,
        command: site.command ?? 'node recorder.mjs',
        root: site.root ?? RECORDER,
        appSettings: { TEST_CLIENT_SECRET: CLIENTS.site.secret, ...site.appSettings },
        stopGracePeriod: '2s',
        auth: (site.auth ?? ((issuer: string) => authSection(issuer)))(provider.issuer),
        ...(site.mcp ? { mcp: site.mcp } : {}),
      },
    ],
    {
      dataDir,
      middlewares: { '*': middlewares },
      frontdoor: options.byAddress ? { routers: [{ host: '127.0.0.1', site: name }] } : {},
    },
  );
  // The middlewares need the manager, which the harness made: installed before the first request.
  const auth = builtinAuth({ manager: h.manager, logger: silentLogger, cookieSecret: randomBytes(32) });
  await auth.start();
  h.frontdoor.use('*', auth);
  if (site.mcp)
    h.frontdoor.use(
      '*',
      builtinMcp({
        manager: h.manager,
        frontdoorOrigin: () => `http://127.0.0.1:${h.frontdoor.port}`,
        baseDir: EXAMPLE_SITES,
        handleSecret: Buffer.alloc(32, 7),
        logger: silentLogger,
        recheckMs: 3_600_000,
      }),
    );
  const host = options.byAddress ? `127.0.0.1:${h.frontdoor.port}` : `${name}.localhost:${h.frontdoor.port}`;
  const origin = `http://${host}`;
  t.after(async () => {
    await h.close();
    await rm(dataDir, { recursive: true, force: true });
    if (!options.provider) await provider.close();
  });
  return { ...h, provider, origin, host };
}
