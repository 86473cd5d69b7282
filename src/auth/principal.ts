import type { JWTPayload } from 'jose';

/** One claim as App Service lists them in X-MS-CLIENT-PRINCIPAL: every value a string. */
export interface Claim {
  typ: string;
  val: string;
}

/**
 * Who is calling, as the front door vouches for it: the one contract other parts (the app through
 * the X-MS-CLIENT-PRINCIPAL headers, built-in MCP, governance) build on. Made only from a token or
 * session the front door verified itself.
 */
export interface Principal {
  /** The provider that signed the caller in: `aad`, or a custom provider's name. */
  idp: string;
  /** Stable id: `oid` (Entra), else `sub`. */
  id: string;
  /** Display name: the provider's `nameClaimType`, else `name`, `preferred_username`, `email`, the id. */
  name: string;
  /** Every claim of the token, arrays as one claim per element, objects as JSON. */
  claims: Claim[];
  /** `roles` claim values. */
  roles: string[];
  /** The client application the token was issued to (`azp`, else `appid`, else `client_id`), when it says. */
  appId?: string;
  /** Granted scopes (`scope` or `scp`, space-separated or a list). */
  scopes: string[];
  /** The caller's address as the front door's socket saw it. */
  clientAddress: string;
  /** How the caller proved itself: a bearer token, or the browser session cookie. */
  via: 'bearer' | 'session';
}

const NAME_CLAIMS = ['name', 'preferred_username', 'email', 'upn'];
const ROLE_TYPE = 'roles';

function claimList(payload: JWTPayload): Claim[] {
  const claims: Claim[] = [];
  for (const [typ, value] of Object.entries(payload)) {
    const values = Array.isArray(value) ? value : [value];
    for (const val of values) {
      if (val === undefined || val === null) continue;
      claims.push({ typ, val: typeof val === 'object' ? JSON.stringify(val) : String(val) });
    }
  }
  return claims;
}

function words(value: unknown): string[] {
  if (typeof value === 'string') return value.split(' ').filter(Boolean);
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

/** A principal from a verified token's claims. */
export function principalFrom(
  payload: JWTPayload,
  idp: string,
  options: { nameClaimType?: string; clientAddress: string; via: Principal['via'] },
): Principal {
  const id = String(payload.oid ?? payload.sub ?? '');
  const nameClaim = [options.nameClaimType, ...NAME_CLAIMS].find(
    (claim) => claim !== undefined && typeof payload[claim] === 'string',
  );
  const appId = payload.azp ?? payload.appid ?? payload.client_id;
  return {
    idp,
    id,
    name: nameClaim ? String(payload[nameClaim]) : id,
    claims: claimList(payload),
    roles: words(payload.roles),
    appId: typeof appId === 'string' ? appId : undefined,
    scopes: [...new Set([...words(payload.scope), ...words(payload.scp)])],
    clientAddress: options.clientAddress,
    via: options.via,
  };
}

/** Provider tokens handed to the app when the token store is on. */
export interface StoredTokens {
  accessToken?: string;
  idToken?: string;
  /** Seconds since the epoch. */
  expiresOn?: number;
}

/**
 * The headers App Service sets for the app: X-MS-CLIENT-PRINCIPAL (base64 of
 * `{auth_typ, claims, name_typ, role_typ}`), -ID, -NAME, -IDP, and with the token store
 * X-MS-TOKEN-<PROVIDER>-ACCESS-TOKEN / -ID-TOKEN / -EXPIRES-ON. Values are printable ASCII, so
 * node:http sends them as they are (names and ids with other characters are percent-encoded).
 */
export function principalHeaders(
  principal: Principal,
  nameClaimType: string | undefined,
  tokens?: StoredTokens,
): Record<string, string> {
  const body = {
    auth_typ: principal.idp,
    claims: principal.claims,
    name_typ: nameClaimType ?? 'name',
    role_typ: ROLE_TYPE,
  };
  const headers: Record<string, string> = {
    'x-ms-client-principal': Buffer.from(JSON.stringify(body)).toString('base64'),
    'x-ms-client-principal-id': headerSafe(principal.id),
    'x-ms-client-principal-name': headerSafe(principal.name),
    'x-ms-client-principal-idp': principal.idp,
  };
  if (tokens) {
    const prefix = `x-ms-token-${principal.idp.toLowerCase()}`;
    if (tokens.accessToken) headers[`${prefix}-access-token`] = tokens.accessToken;
    if (tokens.idToken) headers[`${prefix}-id-token`] = tokens.idToken;
    if (tokens.expiresOn) headers[`${prefix}-expires-on`] = new Date(tokens.expiresOn * 1000).toISOString();
  }
  return headers;
}

/** Printable ASCII stays; anything else (a control character, non-ASCII) is percent-encoded. */
function headerSafe(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) ? value : encodeURIComponent(value);
}
