/** What the Authorization header carries. Parsing never throws: malformed input is `invalid`. */
export type Credentials =
  | { kind: 'none' }
  | { kind: 'basic'; user: string; password: string }
  | { kind: 'bearer'; token: string }
  | { kind: 'invalid'; reason: string };

export function readCredentials(headers: Record<string, string | string[] | undefined>): Credentials {
  const raw = headers.authorization;
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (!value) return { kind: 'none' };
  const space = value.indexOf(' ');
  const scheme = (space > 0 ? value.slice(0, space) : value).toLowerCase();
  const rest = space > 0 ? value.slice(space + 1).trim() : '';
  if (scheme === 'basic') {
    const decoded = Buffer.from(rest, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return { kind: 'invalid', reason: 'malformed Basic credentials' };
    const user = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    // containers/image sends "Basic Og==" (empty user and password) when it has no credentials.
    if (user === '' && password === '') return { kind: 'none' };
    return { kind: 'basic', user, password };
  }
  if (scheme === 'bearer') {
    if (!rest) return { kind: 'invalid', reason: 'empty Bearer token' };
    return { kind: 'bearer', token: rest };
  }
  return { kind: 'invalid', reason: `unsupported authorization scheme "${scheme}"` };
}
