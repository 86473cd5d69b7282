/**
 * Where `berth mcp serve` finds the secrets for a document's security schemes. A reference is
 * `env:VAR` (an environment variable, read once at start) or `@secret(name)` (the secret store that
 * comes with the identity work: accepted by the syntax, resolved through `secrets` when one is given,
 * refused with a clear message otherwise). Values are never logged or put in messages.
 */
export const CREDENTIAL_REFERENCE = /^(env:[A-Za-z_][A-Za-z0-9_]*|@secret\([A-Za-z0-9_./-]+\))$/;
export const SCHEME_NAME = /^[A-Za-z0-9_.-]+$/;

/** The seam for the secret store: resolves `@secret(name)` to its value. */
export type SecretResolver = (name: string) => Promise<string | undefined>;

/** `scheme=env:VAR` from the command line. */
export function parseCredentialFlag(flag: string): [string, string] {
  const eq = flag.indexOf('=');
  const scheme = eq > 0 ? flag.slice(0, eq) : '';
  const reference = eq > 0 ? flag.slice(eq + 1) : '';
  if (!SCHEME_NAME.test(scheme) || !CREDENTIAL_REFERENCE.test(reference))
    throw new Error(
      `--credential must be <scheme>=env:<VAR> (or <scheme>=@secret(<name>)), got ${JSON.stringify(flag.slice(0, 80))}`,
    );
  return [scheme, reference];
}

export async function resolveCredentials(
  references: Record<string, string>,
  env: NodeJS.ProcessEnv = process.env,
  secrets?: SecretResolver,
): Promise<Record<string, string>> {
  const values: Record<string, string> = {};
  for (const [scheme, reference] of Object.entries(references)) {
    let value: string | undefined;
    if (reference.startsWith('env:')) {
      const name = reference.slice(4);
      value = env[name];
      if (value === undefined || value === '')
        throw new Error(`credential "${scheme}": the environment variable ${name} is not set`);
    } else {
      const name = /^@secret\((.+)\)$/.exec(reference)?.[1];
      if (!name)
        throw new Error(
          `credential "${scheme}": ${JSON.stringify(reference)} is not env:VAR or @secret(name)`,
        );
      if (!secrets)
        throw new Error(
          `credential "${scheme}": secret references (@secret(${name})) need the secret store, which is not available here yet; use env:VAR`,
        );
      value = await secrets(name);
      if (value === undefined) throw new Error(`credential "${scheme}": no secret named "${name}"`);
    }
    Object.defineProperty(values, scheme, { value, enumerable: true });
  }
  return values;
}
