/**
 * Per-tool scopes (`sites[].mcp.scopes`), which App Service does not have: a tool name or pattern
 * maps to the scopes a caller's token must all carry to see and call the tool.
 */

/** Why a caller may not call a tool: the answer the MCP endpoint gives (HTTP 403 and a challenge). */
export interface ToolRefusal {
  status: number;
  message: string;
  headers: Record<string, string>;
}

/**
 * The per-request view the MCP handler asks (structurally the mcp part's ToolAccess).
 * `documentScopes` are the tool's OpenAPI `security` alternatives, used when `mcp.scopes` has no
 * key for the tool.
 */
export interface ToolAccess {
  refusal(tool: string, documentScopes?: string[][]): ToolRefusal | undefined;
}

const patternCache = new Map<string, RegExp>();

function matches(pattern: string, tool: string): boolean {
  if (!pattern.includes('*')) return pattern === tool;
  let re = patternCache.get(pattern);
  if (!re) {
    re = new RegExp(
      `^${pattern
        .split('*')
        .map((p) => p.replace(/[.+?^${}()|[\]\\-]/g, '\\$&'))
        .join('.*')}$`,
    );
    patternCache.set(pattern, re);
  }
  return re.test(tool);
}

/** The scopes `tool` needs: an exact key first, else the first pattern that matches; none when no key does. */
export function requiredScopes(tool: string, scopes: Record<string, string[]>): string[] {
  const exact = Object.hasOwn(scopes, tool) ? scopes[tool] : undefined;
  if (exact) return exact;
  for (const [pattern, needed] of Object.entries(scopes)) if (matches(pattern, tool)) return needed;
  return [];
}

/** Every scope named in a `scopes` map, for PRM's scopes_supported. */
export function allScopes(scopes: Record<string, string[]>): string[] {
  return [...new Set(Object.values(scopes).flat())];
}

/**
 * What a caller with `granted` scopes may call. A refusal names every scope the tool needs (the
 * client adds what it holds, so one step-up yields a token good for both: the SDK's rule).
 */
export function toolAccessFor(
  granted: string[] | undefined,
  scopes: Record<string, string[]>,
  challenge: (needed: string[], description: string) => ToolRefusal,
): ToolAccess {
  const have = new Set(granted ?? []);
  return {
    refusal(tool, documentScopes) {
      let needed = requiredScopes(tool, scopes);
      if (needed.length === 0 && documentScopes && documentScopes.length > 0) {
        // Any one alternative held is enough; else the one missing the fewest scopes is asked for.
        const missingOf = (alternative: string[]) => alternative.filter((s) => !have.has(s)).length;
        needed = [...documentScopes].sort((a, b) => missingOf(a) - missingOf(b))[0]!;
      }
      const missing = needed.filter((s) => !have.has(s));
      if (missing.length === 0) return undefined;
      return challenge(
        needed,
        `the tool ${tool} needs the scope${missing.length > 1 ? 's' : ''} ${missing.join(' ')}`,
      );
    },
  };
}
