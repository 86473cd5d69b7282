import { decodeJwt, errors, jwtVerify, type JWTPayload } from 'jose';
import type { Issuer } from './issuer.js';

/** Asymmetric algorithms only: `none` and HMAC (which a public key could "sign") are refused. */
export const ALGORITHMS = ['RS256', 'PS256', 'ES256', 'EdDSA', 'Ed25519'];
/** Clock skew allowed on `exp` and `nbf` (the bound: at most 60 s). */
export const MAX_SKEW_SECONDS = 60;
/** Longer bearer tokens are refused unread. */
export const MAX_TOKEN_BYTES = 8 * 1024;

/** Why a token was refused, fit for a WWW-Authenticate error_description and a log line (never the token). */
export class TokenRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenRefused';
  }
}

export interface TokenPolicy {
  /** `aud` must name one of these, or a resource `ownResource` says is this one (RFC 8707). */
  audiences: string[];
  ownResource?: (aud: string) => boolean;
  /** `azp`/`appid` must be one of these; any when empty. */
  allowedApplications: string[];
  /** `oid`/`sub` must be one of these, or `groups` name one of `groups`; anyone when both are empty. */
  identities: string[];
  groups: string[];
}

/** The client the token was issued to: `azp` (OpenID), `appid` (Entra v1), `client_id` (RFC 9068). */
export function applicationOf(payload: JWTPayload): string | undefined {
  const value = payload.azp ?? payload.appid ?? payload.client_id;
  return typeof value === 'string' ? value : undefined;
}

function reason(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'the token has expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return 'the token is not valid yet';
    if (error.claim === 'aud') return 'the token is meant for another audience (resource)';
    if (error.claim === 'iss') return 'the token comes from another issuer';
    return `the token's ${error.claim} claim is not valid`;
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return 'the token is not signed with an allowed algorithm';
  if (error instanceof errors.JWKSNoMatchingKey) return "the token's signing key is not the issuer's";
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'the token signature is not valid';
  if (error instanceof errors.JWTInvalid || error instanceof errors.JWSInvalid)
    return 'the token is malformed';
  return 'the token could not be verified';
}

/**
 * Verifies a bearer token as a resource server: signature with the issuer's keys (asymmetric
 * algorithms only), `iss`, `aud`, `exp` (required) and `nbf` with 60 s skew, then the site's
 * authorization policy (allowed applications and principals). The issuer is picked by the token's
 * unverified `iss` and then verified like everything else.
 */
export async function verifyToken(
  token: string,
  issuers: Issuer[],
  policyOf: (issuer: Issuer) => TokenPolicy,
  /** The time to check `exp`/`nbf` against (tests; now by default). */
  currentDate?: Date,
): Promise<{ payload: JWTPayload; issuer: Issuer }> {
  if (token.length > MAX_TOKEN_BYTES) throw new TokenRefused('the token is longer than 8 KiB');
  let claimed: JWTPayload;
  try {
    claimed = decodeJwt(token);
  } catch {
    throw new TokenRefused('the token is malformed');
  }
  const issuer = issuers.find((i) => i.metadata.issuer === claimed.iss);
  if (!issuer) throw new TokenRefused('the token comes from another issuer');
  const policy = policyOf(issuer);
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, issuer.keys.getKey, {
      issuer: issuer.metadata.issuer,
      algorithms: ALGORITHMS,
      clockTolerance: MAX_SKEW_SECONDS,
      requiredClaims: ['exp'],
      currentDate,
    }));
  } catch (error) {
    throw new TokenRefused(reason(error));
  }
  // The audience is checked here rather than by jose: a resource URL is this site's when it routes here.
  const audiences =
    typeof payload.aud === 'string' ? [payload.aud] : Array.isArray(payload.aud) ? payload.aud : [];
  if (!audiences.some((aud) => policy.audiences.includes(aud) || policy.ownResource?.(aud)))
    throw new TokenRefused('the token is meant for another audience (resource)');
  const appId = applicationOf(payload);
  if (policy.allowedApplications.length > 0 && !policy.allowedApplications.includes(String(appId ?? '')))
    throw new TokenRefused('the token was issued to an application this site does not allow');
  if (policy.identities.length > 0 || policy.groups.length > 0) {
    const id = String(payload.oid ?? payload.sub ?? '');
    const groups = Array.isArray(payload.groups) ? payload.groups.map(String) : [];
    if (!policy.identities.includes(id) && !groups.some((g) => policy.groups.includes(g)))
      throw new TokenRefused('the principal is not among the ones this site allows');
  }
  return { payload, issuer };
}
