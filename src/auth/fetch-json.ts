/** Metadata documents and key sets are small; a larger answer is not one. */
const MAX_BYTES = 1024 * 1024;
const TIMEOUT_MS = 5_000;

/** GETs a JSON document from an identity provider (metadata, JWKS), bounded in time and size. */
export async function fetchJson(url: string, what: string): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { accept: 'application/json' },
      redirect: 'error',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (error) {
    const cause = (error as { cause?: Error }).cause?.message ?? (error as Error).message;
    throw new Error(`cannot fetch the ${what} at ${url}: ${cause}`, { cause: error });
  }
  if (!response.ok) throw new Error(`the ${what} at ${url} answered ${response.status}`);
  const text = await response.text();
  if (text.length > MAX_BYTES) throw new Error(`the ${what} at ${url} is larger than 1 MiB`);
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`the ${what} at ${url} is not JSON`);
  }
}
