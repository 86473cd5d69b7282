// Splits a message into plain and highlighted parts for the search the user typed. Pure, so the same
// rules apply to live and historical lines; the caller renders parts with textContent only.

/** Words and "phrases" like the server's keyword search: letters and digits, case- and accent-insensitive. */
export function searchPattern(query, isRegex) {
  if (!query) return undefined;
  if (isRegex) {
    const insensitive = query.startsWith('(?i)');
    try {
      return new RegExp(insensitive ? query.slice(4) : query, insensitive ? 'gi' : 'g');
    } catch {
      return undefined;
    }
  }
  const alternatives = [];
  for (const match of query.matchAll(/"([^"]*)"?|(\S+)/g)) {
    const raw = (match[1] ?? match[2]).replace(/\*$/, '');
    const words = raw.match(/[\p{L}\p{N}]+/gu);
    if (!words) continue;
    alternatives.push(words.map(escapeRegex).join('[^\\p{L}\\p{N}]+'));
  }
  if (alternatives.length === 0) return new RegExp(escapeRegex(query), 'giu');
  return new RegExp(alternatives.map((a) => `(?:${a})`).join('|'), 'giu');
}

export function highlightParts(text, pattern) {
  if (!pattern) return [{ text, mark: false }];
  const parts = [];
  let last = 0;
  pattern.lastIndex = 0;
  for (const match of text.matchAll(pattern)) {
    if (match[0] === '') continue;
    if (match.index > last) parts.push({ text: text.slice(last, match.index), mark: false });
    parts.push({ text: match[0], mark: true });
    last = match.index + match[0].length;
  }
  if (last < text.length) parts.push({ text: text.slice(last), mark: false });
  return parts;
}

function escapeRegex(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
