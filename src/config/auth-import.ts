import type { z } from 'zod';
import { siteAuthSchema, type SiteAuthConfig } from './auth.js';

/** Why Berth leaves a field of an App Service document out, for fields where the generic reason says too little. */
const REASONS: [RegExp, string][] = [
  [
    /^identityProviders\.(facebook|gitHub|google|twitter|apple|azureStaticWebApps|legacyMicrosoftAccount)$/,
    'Berth supports OpenID Connect providers only (azureActiveDirectory, customOpenIdConnectProviders); add this one as a custom OpenID Connect provider if it speaks OpenID Connect',
  ],
  [
    /^httpSettings/,
    'Berth takes the scheme and forwarded headers from the front door, not from auth settings',
  ],
  [/jwtClaimChecks$/, 'use defaultAuthorizationPolicy.allowedApplications and allowedPrincipals instead'],
  [/^login\.routes/, 'the /.auth/* routes are fixed in Berth'],
  [
    /^login\.tokenStore\.(fileSystem|azureBlobStorage|tokenRefreshExtensionHours)/,
    "Berth's token store lives in the encrypted session cookie",
  ],
  [/^platform\.(runtimeVersion|configFilePath)$/, 'Berth has one runtime and reads berth.yaml'],
];

/** One field of an imported document Berth does not use, with the reason. */
export interface ImportNote {
  path: string;
  message: string;
}

/** Drops nulls (`az` prints every unset field as null) so that only fields that were set are judged. */
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== null)
        .map(([k, v]) => [k, withoutNulls(v)]),
    );
  return value;
}

function deleteAt(root: Record<string, unknown>, path: PropertyKey[], key: string): void {
  let node: unknown = root;
  for (const segment of path) node = (node as Record<PropertyKey, unknown>)[segment];
  delete (node as Record<string, unknown>)[key];
}

export class AuthImportError extends Error {
  constructor(readonly problems: string[]) {
    super(`the auth settings cannot be used:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'AuthImportError';
  }
}

/**
 * An App Service authsettingsV2 document (as `az webapp auth show` prints it: the resource with
 * `properties`, or the properties alone) as a `sites[].auth` section. Every field Berth does not
 * support is left out with a note saying so and why; a supported field with a bad value is an
 * error naming its path. Returns the section as it should be written (input shape, not defaults).
 */
export function importAuthSettings(document: unknown): {
  auth: Record<string, unknown>;
  notes: ImportNote[];
} {
  if (!document || typeof document !== 'object' || Array.isArray(document))
    throw new AuthImportError(['the document is not a JSON object']);
  const raw = document as Record<string, unknown>;
  const properties = (raw.properties && typeof raw.properties === 'object' ? raw.properties : raw) as object;
  const auth = withoutNulls(structuredClone(properties)) as Record<string, unknown>;
  const notes: ImportNote[] = [];
  // The resource's envelope (id, name, type, location, kind) is App Service's, not a setting.
  if (properties === raw.properties)
    for (const key of Object.keys(raw).filter((k) => k !== 'properties' && raw[k] !== null))
      notes.push({ path: key, message: 'resource metadata, not a setting (ignored)' });
  for (let round = 0; round < 100; round++) {
    const parsed = siteAuthSchema.safeParse(auth);
    const unknown = parsed.success ? [] : parsed.error.issues.filter((i) => i.code === 'unrecognized_keys');
    if (unknown.length === 0) {
      if (!parsed.success) throw new AuthImportError(parsed.error.issues.map(describe));
      return { auth, notes };
    }
    for (const issue of unknown as z.core.$ZodIssueUnrecognizedKeys[])
      for (const key of issue.keys) {
        const path = [...issue.path.map(String), key].join('.');
        const reason = REASONS.find(([pattern]) => pattern.test(path))?.[1];
        notes.push({ path, message: `not supported by Berth (left out)${reason ? `: ${reason}` : ''}` });
        deleteAt(auth, issue.path, key);
      }
  }
  throw new AuthImportError(['the document nests unsupported fields too deeply']);
}

function describe(issue: z.core.$ZodIssue): string {
  return `${issue.path.join('.') || '(document)'}: ${issue.message}`;
}

export type { SiteAuthConfig };
