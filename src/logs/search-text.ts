/**
 * Keyword search as users type it: words (all must appear), `word*` prefixes and "quoted phrases".
 * Words are split the way SQLite FTS5's default tokenizer (unicode61) splits them, so the live
 * stream and the stored history agree on what matches.
 */
export interface SearchTerm {
  /** Lower-case tokens that must appear one after another. */
  tokens: string[];
  /** The last token is a prefix. */
  prefix: boolean;
}

const TOKEN = /[\p{L}\p{N}]+/gu;

/** Lower case, accents removed (unicode61's remove_diacritics), split on everything but letters and digits. */
export function tokenize(text: string): string[] {
  const folded = text
    .normalize('NFD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase();
  return folded.match(TOKEN) ?? [];
}

export function parseSearch(query: string): SearchTerm[] {
  const terms: SearchTerm[] = [];
  for (const match of query.matchAll(/"([^"]*)"?|(\S+)/g)) {
    const phrase = match[1] !== undefined;
    const raw = match[1] ?? match[2]!;
    const prefix = !phrase && raw.endsWith('*');
    const tokens = tokenize(prefix ? raw.slice(0, -1) : raw);
    if (tokens.length > 0) terms.push({ tokens, prefix });
  }
  return terms;
}

/** The FTS5 MATCH expression: each term a quoted phrase, so no user text is read as FTS5 syntax. */
export function toFtsExpression(terms: SearchTerm[]): string {
  return terms.map((t) => `"${t.tokens.join(' ')}"${t.prefix ? '*' : ''}`).join(' AND ');
}

/** Whether a message matches every term; the in-memory twin of the FTS5 query, for live lines. */
export function matchesSearch(terms: SearchTerm[], message: string): boolean {
  if (terms.length === 0) return true;
  const tokens = tokenize(message);
  return terms.every((term) => containsSequence(tokens, term));
}

function containsSequence(tokens: string[], term: SearchTerm): boolean {
  const n = term.tokens.length;
  outer: for (let i = 0; i + n <= tokens.length; i++) {
    for (let j = 0; j < n; j++) {
      const want = term.tokens[j]!;
      const have = tokens[i + j]!;
      const last = j === n - 1;
      if (last && term.prefix ? !have.startsWith(want) : have !== want) continue outer;
    }
    return true;
  }
  return false;
}
