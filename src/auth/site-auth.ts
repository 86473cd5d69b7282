import type { IncomingMessage } from 'node:http';
import { providersOf, type AuthProvider, type SiteAuthConfig } from '../config/index.js';
import type { Logger } from '../lib/logger.js';
import { discoverIssuer, type Issuer } from './issuer.js';
import { principalFrom, principalHeaders, type Principal, type StoredTokens } from './principal.js';
import { SESSION_COOKIE, SessionCookies, cookieFrom } from './session.js';
import { VerifiedTokens } from './verified-cache.js';
import { allScopes, toolAccessFor, type ToolAccess, type ToolRefusal } from './tool-scopes.js';
import { TokenRefused, verifyToken, type TokenPolicy } from './verify.js';

/** App Service's setting that turns on Protected Resource Metadata with these default scopes. */
export const PRM_SETTING = 'WEBSITE_AUTH_PRM_DEFAULT_WITH_SCOPES';
export const PRM_PATH = '/.well-known/oauth-protected-resource';

/** What a site's authentication needs from its definition. */
export interface SiteAuthSettings {
  site: string;
  auth: SiteAuthConfig;
  appSettings: Record<string, string>;
  mcp: { enabled: boolean; path: string; scopes: Record<string, string[]> };
}

/** The outcome of looking at a request's credentials. */
export type Authentication =
  | {
      kind: 'principal';
      principal: Principal;
      provider: AuthProvider;
      tokens?: StoredTokens;
      /** The identity headers without provider tokens, when already made for this token. */
      headers?: Record<string, string>;
    }
  | { kind: 'anonymous' }
  /** Credentials were sent and are not good: never treated as anonymous. */
  | { kind: 'refused'; reason: string; via?: 'session' };

/** `"` and `\` escaped for an RFC 9110 quoted-string. */
const quoted = (value: string) => `"${value.replace(/["\\]/g, '\\$&')}"`;

/** The public origin a request reached the site at (the router matched its Host to this site). */
export function originOf(req: IncomingMessage): string {
  return `http://${req.headers.host ?? 'localhost'}`;
}

/**
 * One site's built-in authentication: its providers (discovered at start), the token policy, the
 * MCP resource's metadata and challenges. Requests are checked against what was fetched at start;
 * nothing is fetched per request (an unknown `kid` refreshes keys at most once per 30 s).
 */
export class SiteAuth {
  private constructor(
    readonly settings: SiteAuthSettings,
    readonly issuers: Issuer[],
    /** The browser session: encrypted cookies under a key derived from `cookieSecret` and the site. */
    readonly cookies: SessionCookies,
  ) {}

  /** Bearer tokens already verified for this site (the policy is the site's, so the verdict is too). */
  private readonly verified = new VerifiedTokens();

  static async start(settings: SiteAuthSettings, logger: Logger, cookieSecret: Buffer): Promise<SiteAuth> {
    const providers = providersOf(settings.auth).filter((p) => p.enabled);
    const issuers = await Promise.all(
      providers.map(async (provider) => {
        const issuer = await discoverIssuer(provider);
        logger.info(
          { site: settings.site, provider: provider.name, issuer: issuer.metadata.issuer },
          'identity provider metadata and keys loaded',
        );
        return issuer;
      }),
    );
    const lifetime = settings.auth.login.cookieExpiration?.timeToExpiration ?? '08:00:00';
    const [h, m, sec] = lifetime.split(':').map(Number) as [number, number, number];
    return new SiteAuth(
      settings,
      issuers,
      new SessionCookies(cookieSecret, settings.site, h * 3600 + m * 60 + sec),
    );
  }

  get mcpPath(): string | undefined {
    return this.settings.mcp.enabled ? this.settings.mcp.path : undefined;
  }

  /** PRM is served for a site with built-in MCP or App Service's PRM setting. */
  get servesPrm(): boolean {
    return this.settings.mcp.enabled || PRM_SETTING in this.settings.appSettings;
  }

  /** The scopes a caller needs to reach the resource at all (the PRM setting's list). */
  get defaultScopes(): string[] {
    const value = this.settings.appSettings[PRM_SETTING] ?? '';
    return value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  }

  /** RFC 8707 resource of the MCP endpoint (or the site, without MCP). */
  resourceOf(origin: string): string {
    return `${origin}${this.mcpPath ?? ''}`;
  }

  /** RFC 9728 metadata; `path` is what followed the well-known prefix (the resource's path, or ''). */
  protectedResourceMetadata(origin: string, path: string): Record<string, unknown> | undefined {
    const resource = path === '' ? origin : `${origin}${path}`;
    if (path !== '' && path !== this.mcpPath) return undefined;
    return {
      resource,
      authorization_servers: [...new Set(this.issuers.map((i) => i.metadata.issuer))],
      scopes_supported: [...new Set([...this.defaultScopes, ...allScopes(this.settings.mcp.scopes)])],
      bearer_methods_supported: ['header'],
      resource_name: this.settings.site,
    };
  }

  metadataUrl(origin: string): string {
    return `${origin}${PRM_PATH}${this.mcpPath ?? ''}`;
  }

  /** `WWW-Authenticate` of a 401: where the metadata is, the scopes to ask for, and what was wrong. */
  challenge(origin: string, error?: string): string {
    // Without PRM there is no metadata to point at: a plain Bearer challenge naming the site.
    const parts = this.servesPrm
      ? [`resource_metadata=${quoted(this.metadataUrl(origin))}`]
      : [`realm=${quoted(this.settings.site)}`];
    if (this.defaultScopes.length > 0) parts.push(`scope=${quoted(this.defaultScopes.join(' '))}`);
    if (error) parts.push(`error="invalid_token"`, `error_description=${quoted(error)}`);
    return `Bearer ${parts.join(', ')}`;
  }

  /**
   * Tokens accepted for this site: the configured audiences (the client id by default), and a
   * resource URL (RFC 8707) that is this site: its MCP endpoint or its root, at a host that routes
   * here (`routesHere`, from the front door's routers). A token for any other resource is refused.
   */
  policyFor(issuer: Issuer, routesHere: (url: URL) => boolean): TokenPolicy {
    const { validation, registration } = issuer.provider.config;
    const audiences =
      validation.allowedAudiences.length > 0 ? validation.allowedAudiences : [registration.clientId];
    const paths = new Set(['', '/', this.mcpPath ?? '/']);
    return {
      audiences,
      ownResource: (aud) => {
        let url: URL;
        try {
          url = new URL(aud);
        } catch {
          return false;
        }
        return (
          (url.protocol === 'http:' || url.protocol === 'https:') &&
          !url.search &&
          !url.hash &&
          paths.has(url.pathname) &&
          routesHere(url)
        );
      },
      allowedApplications: validation.defaultAuthorizationPolicy.allowedApplications,
      identities: validation.defaultAuthorizationPolicy.allowedPrincipals.identities,
      groups: validation.defaultAuthorizationPolicy.allowedPrincipals.groups,
    };
  }

  /** Looks at the request's bearer token, else its session cookie; a request with neither is anonymous. */
  async authenticate(req: IncomingMessage, routesHere: (url: URL) => boolean): Promise<Authentication> {
    const header = req.headers.authorization;
    if (header === undefined) return this.fromSession(req);
    const match = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(header);
    if (!match) return { kind: 'refused', reason: 'the Authorization header is not a Bearer token' };
    try {
      const token = match[1]!;
      let verified = this.verified.get(token);
      if (!verified) {
        const fresh = await verifyToken(token, this.issuers, (i) => this.policyFor(i, routesHere));
        verified = this.verified.set(token, fresh.payload, fresh.issuer);
      }
      const { issuer } = verified;
      const nameClaimType = issuer.provider.config.login.nameClaimType;
      verified.principal ??= principalFrom(verified.payload, issuer.provider.name, {
        nameClaimType,
        clientAddress: '',
        via: 'bearer',
      });
      verified.headers ??= principalHeaders(verified.principal, nameClaimType);
      return {
        kind: 'principal',
        principal: { ...verified.principal, clientAddress: req.socket.remoteAddress ?? '' },
        provider: issuer.provider,
        tokens: { accessToken: token },
        headers: verified.headers,
      };
    } catch (error) {
      if (error instanceof TokenRefused) return { kind: 'refused', reason: error.message };
      throw error;
    }
  }

  private async fromSession(req: IncomingMessage): Promise<Authentication> {
    const value = cookieFrom(req.headers.cookie, SESSION_COOKIE);
    if (value === undefined) return { kind: 'anonymous' };
    const session = await this.cookies.openSession(value);
    if ('refused' in session) return { kind: 'refused', reason: session.refused, via: 'session' };
    const issuer = this.issuers.find((i) => i.provider.name === session.idp);
    if (!issuer)
      return {
        kind: 'refused',
        reason: 'the session is from a provider this site no longer has',
        via: 'session',
      };
    const principal = principalFrom(session.claims, session.idp, {
      nameClaimType: issuer.provider.config.login.nameClaimType,
      clientAddress: req.socket.remoteAddress ?? '',
      via: 'session',
    });
    return { kind: 'principal', principal, provider: issuer.provider, tokens: session.tokens };
  }

  /** True when `pathname` is one of `excludedPaths` (a `/*` suffix matches everything below). */
  excluded(pathname: string): boolean {
    return this.settings.auth.globalValidation.excludedPaths.some((p) =>
      p.endsWith('/*') ? pathname.startsWith(p.slice(0, -1)) || pathname === p.slice(0, -2) : pathname === p,
    );
  }

  /** What the caller may call among the MCP tools, with the 403 challenge for the rest. */
  toolAccess(origin: string, granted: string[] | undefined): ToolAccess {
    return toolAccessFor(granted, this.settings.mcp.scopes, (needed, description) =>
      this.insufficientScope(origin, [...new Set([...this.defaultScopes, ...needed])], description),
    );
  }

  insufficientScope(origin: string, scopes: string[], description: string): ToolRefusal {
    return {
      status: 403,
      message: description,
      headers: {
        'www-authenticate': `Bearer error="insufficient_scope", scope=${quoted(scopes.join(' '))}, resource_metadata=${quoted(this.metadataUrl(origin))}, error_description=${quoted(description)}`,
      },
    };
  }
}
