import { SecretNotFound, type SecretStore } from './store.js';

/** A setting value that names a secret instead of holding it. */
export interface SecretReference {
  /** The setting's value as written, for messages (it holds no secret). */
  text: string;
  name: string;
  version?: number;
}

const KEY_VAULT = /^@Microsoft\.KeyVault\((.*)\)$/i;
const BERTH = /^@secret\(([^)]*)\)$/;

/**
 * Parses App Service's Key Vault reference forms and Berth's own:
 * `@Microsoft.KeyVault(SecretUri=https://<vault>.vault.azure.net/secrets/<name>[/<version>])`,
 * `@Microsoft.KeyVault(VaultName=<vault>;SecretName=<name>[;SecretVersion=<version>])`,
 * `@secret(<name>)`. The vault is not looked at: every reference resolves from Berth's one store.
 * Undefined for an ordinary value; throws for a reference that is malformed.
 */
export function parseReference(value: string): SecretReference | undefined {
  const berth = BERTH.exec(value.trim());
  if (berth) return { text: value, name: berth[1]!.trim() };
  const vault = KEY_VAULT.exec(value.trim());
  if (!vault) return undefined;
  const fields = new Map<string, string>();
  for (const part of vault[1]!.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  const uri = fields.get('secreturi');
  if (uri) {
    const match = /^https:\/\/[^/]+\/secrets\/([^/]+)(?:\/([^/]*))?\/?$/.exec(uri);
    if (!match)
      throw new Error(
        `${value} is not a Key Vault reference: SecretUri must be https://<vault>/secrets/<name>[/<version>]`,
      );
    return { text: value, name: match[1]!, version: versionOf(match[2], value) };
  }
  const name = fields.get('secretname');
  if (!fields.get('vaultname') || !name)
    throw new Error(
      `${value} is not a Key Vault reference: it needs SecretUri=, or VaultName= and SecretName=`,
    );
  return { text: value, name, version: versionOf(fields.get('secretversion'), value) };
}

/** Key Vault versions are opaque ids; Berth's are 1, 2, 3 ... — anything else names no version. */
function versionOf(text: string | undefined, value: string): number | undefined {
  if (!text) return undefined;
  if (!/^\d+$/.test(text))
    throw new Error(`${value}: Berth's secret versions are numbers (berth secret list shows them)`);
  return Number(text);
}

/** A reference that did not resolve: the message names the setting and the reference, never a value. */
export class UnresolvedReference extends Error {
  constructor(
    readonly setting: string,
    readonly reference: string,
    reason: string,
  ) {
    super(`app setting ${setting} is a secret reference that does not resolve: ${reference}: ${reason}`);
    this.name = 'UnresolvedReference';
  }
}

export interface ResolvedSettings {
  /** The settings with every reference replaced by its value (for the instance's environment only). */
  env: Record<string, string>;
  /** Setting name → secret version, for the settings that were references. */
  versions: Record<string, number>;
  /** Secret names referenced, lower case: a new version of one of them restarts the site. */
  secrets: string[];
}

/** Replaces secret references by their values; throws UnresolvedReference for the first that fails. */
export async function resolveSettings(
  settings: Record<string, string>,
  store: SecretStore,
): Promise<ResolvedSettings> {
  const env: Record<string, string> = {};
  const versions: Record<string, number> = {};
  const secrets: string[] = [];
  for (const [setting, value] of Object.entries(settings)) {
    let reference: SecretReference | undefined;
    try {
      reference = parseReference(value);
    } catch (error) {
      throw new UnresolvedReference(setting, value, (error as Error).message);
    }
    if (!reference) {
      env[setting] = value;
      continue;
    }
    try {
      const resolved = await store.get(reference.name, reference.version);
      env[setting] = resolved.value;
      versions[setting] = resolved.version;
      secrets.push(reference.name.toLowerCase());
    } catch (error) {
      const reason =
        error instanceof SecretNotFound
          ? `${error.message}; add it with \`berth secret set ${reference.name}\``
          : (error as Error).message;
      throw new UnresolvedReference(setting, reference.text, reason);
    }
  }
  return { env, versions, secrets };
}

/** The secret names a set of settings refers to (lower case), without resolving them. */
export function referencedSecrets(settings: Record<string, string>): string[] {
  const names: string[] = [];
  for (const value of Object.values(settings)) {
    try {
      const reference = parseReference(value);
      if (reference) names.push(reference.name.toLowerCase());
    } catch {
      /* malformed: the start reports it */
    }
  }
  return names;
}
