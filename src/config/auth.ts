import { z } from 'zod';

/**
 * `sites[].auth` in berth.yaml: App Service's built-in authentication, in the shape of its
 * `authsettingsV2` resource (the `properties` of `az webapp auth show`). Owned by the auth part.
 * Only OpenID Connect providers are supported: `azureActiveDirectory` (Entra, id `aad`) and any
 * number of `customOpenIdConnectProviders`. `berth webapp auth update --file` imports an exported
 * document and names every field it leaves out.
 */

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** An issuer or metadata URL: https, or http on loopback only (a test provider, a local IdP). */
const issuerUrlSchema = z.string().superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: `must be an absolute URL, got "${value}"` });
    return;
  }
  if (url.protocol === 'https:') return;
  if (url.protocol === 'http:' && LOOPBACK.has(url.hostname)) return;
  ctx.addIssue({ code: 'custom', message: 'must be an https URL (http is allowed on loopback only)' });
});

const settingNameSchema = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be the name of an app setting (an environment variable name)');

/** `excludedPaths` entries: a path, or a prefix ending in `/*`. */
const excludedPathSchema = z.string().regex(/^\/[^\s?#]*$/, 'must be a path starting with / (no query)');

const providerSchema = z.strictObject({
  enabled: z.boolean().default(true),
  registration: z.strictObject({
    clientId: z.string().min(1),
    /** Entra's field: the issuer (its metadata is at `<issuer>/.well-known/openid-configuration`). */
    openIdIssuer: issuerUrlSchema.optional(),
    /** Entra's field: the app setting holding the client secret (needed for browser sign-in). */
    clientSecretSettingName: settingNameSchema.optional(),
    /** A custom provider's fields. */
    clientCredential: z
      .strictObject({
        method: z.literal('ClientSecretPost').optional(),
        clientSecretSettingName: settingNameSchema,
      })
      .optional(),
    openIdConnectConfiguration: z
      .strictObject({
        wellKnownOpenIdConfiguration: issuerUrlSchema.optional(),
        issuer: issuerUrlSchema.optional(),
      })
      .optional(),
  }),
  login: z
    .strictObject({
      /** The claim whose value is the principal's name (X-MS-CLIENT-PRINCIPAL-NAME). */
      nameClaimType: z.string().optional(),
      /** Scopes asked for at browser sign-in besides `openid`. */
      scopes: z.array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'must be a scope token')).default([]),
    })
    .prefault({}),
  validation: z
    .strictObject({
      /** `aud` values accepted; the client id when empty. */
      allowedAudiences: z.array(z.string().min(1)).default([]),
      defaultAuthorizationPolicy: z
        .strictObject({
          /** Client ids (`azp` or `appid`) whose tokens are accepted; any when empty. */
          allowedApplications: z.array(z.string().min(1)).default([]),
          allowedPrincipals: z
            .strictObject({
              /** Object ids (`oid`, else `sub`) accepted; any when empty (and no groups). */
              identities: z.array(z.string().min(1)).default([]),
              /** Group ids (`groups` claim) accepted. */
              groups: z.array(z.string().min(1)).default([]),
            })
            .prefault({}),
        })
        .prefault({}),
    })
    .prefault({}),
});

export const siteAuthSchema = z
  .strictObject({
    platform: z.strictObject({ enabled: z.boolean().default(false) }).prefault({}),
    globalValidation: z
      .strictObject({
        requireAuthentication: z.boolean().default(false),
        unauthenticatedClientAction: z
          .enum(['RedirectToLoginPage', 'AllowAnonymous', 'Return401', 'Return403'])
          .default('RedirectToLoginPage'),
        /** The provider a browser is sent to; needed when more than one is enabled. */
        redirectToProvider: z.string().optional(),
        excludedPaths: z.array(excludedPathSchema).default([]),
      })
      .prefault({}),
    identityProviders: z
      .strictObject({
        azureActiveDirectory: providerSchema.optional(),
        customOpenIdConnectProviders: z
          .record(
            z
              .string()
              .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$/, 'provider names are 1-40 letters, digits, - or _'),
            providerSchema,
          )
          .default({}),
      })
      .prefault({}),
    login: z
      .strictObject({
        /** App Service's token store: provider tokens reach the app as X-MS-TOKEN-<PROVIDER>-* headers. */
        tokenStore: z.strictObject({ enabled: z.boolean().default(false) }).prefault({}),
        cookieExpiration: z
          .strictObject({ timeToExpiration: z.string().regex(/^\d{2}:\d{2}:\d{2}$/, 'must be hh:mm:ss') })
          .optional(),
      })
      .prefault({}),
  })
  .superRefine((auth, ctx) => {
    const providers = providersOf(auth);
    const names = new Set(providers.map((p) => p.name));
    for (const provider of providers) {
      if (!provider.issuer && !provider.metadataUrl)
        ctx.addIssue({
          code: 'custom',
          path: [...provider.path, 'registration'],
          message:
            provider.name === 'aad'
              ? 'openIdIssuer is required'
              : 'openIdConnectConfiguration.wellKnownOpenIdConfiguration or .issuer is required',
        });
    }
    if (!auth.platform.enabled) return;
    const enabled = providers.filter((p) => p.enabled);
    if (enabled.length === 0)
      ctx.addIssue({
        code: 'custom',
        path: ['identityProviders'],
        message: 'platform.enabled needs at least one enabled OpenID Connect provider',
      });
    const redirect = auth.globalValidation.redirectToProvider;
    if (redirect !== undefined && !names.has(redirect.toLowerCase()))
      ctx.addIssue({
        code: 'custom',
        path: ['globalValidation', 'redirectToProvider'],
        message: `names no provider; the providers are ${[...names].join(', ') || '(none)'}`,
      });
    if (
      redirect === undefined &&
      enabled.length > 1 &&
      auth.globalValidation.unauthenticatedClientAction === 'RedirectToLoginPage'
    )
      ctx.addIssue({
        code: 'custom',
        path: ['globalValidation', 'redirectToProvider'],
        message: 'is required with RedirectToLoginPage when more than one provider is enabled',
      });
  });

export type SiteAuthConfig = z.infer<typeof siteAuthSchema>;
export type AuthProviderConfig = z.infer<typeof providerSchema>;

/** One provider as the auth part uses it, whichever section it came from. */
export interface AuthProvider {
  /** `aad`, or the custom provider's name in lower case (as in /.auth/login/<name>). */
  name: string;
  enabled: boolean;
  /** Key path in berth.yaml, for messages. */
  path: (string | number)[];
  issuer?: string;
  /** The OpenID configuration URL (the issuer's well-known document when not given). */
  metadataUrl?: string;
  config: AuthProviderConfig;
}

/** Every configured provider, Entra first. */
export function providersOf(auth: SiteAuthConfig): AuthProvider[] {
  const out: AuthProvider[] = [];
  const aad = auth.identityProviders.azureActiveDirectory;
  if (aad)
    out.push({
      name: 'aad',
      enabled: aad.enabled,
      path: ['identityProviders', 'azureActiveDirectory'],
      issuer: aad.registration.openIdIssuer,
      metadataUrl: aad.registration.openIdConnectConfiguration?.wellKnownOpenIdConfiguration,
      config: aad,
    });
  for (const [name, provider] of Object.entries(auth.identityProviders.customOpenIdConnectProviders)) {
    const oidc = provider.registration.openIdConnectConfiguration;
    out.push({
      name: name.toLowerCase(),
      enabled: provider.enabled,
      path: ['identityProviders', 'customOpenIdConnectProviders', name],
      issuer: oidc?.issuer ?? provider.registration.openIdIssuer,
      metadataUrl: oidc?.wellKnownOpenIdConfiguration,
      config: provider,
    });
  }
  return out;
}
