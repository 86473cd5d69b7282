import type { ToolCatalog } from '../types.js';
import { ErrorCode } from './constants.js';
import { RpcError } from './jsonrpc.js';

/**
 * `tools/list` pages. A cursor is opaque to clients: base64url of the catalog's hash (first 16 hex
 * digits) and the offset of the next tool. A cursor from another list (the catalog was reloaded) or
 * one that does not decode is -32602, so a client never mixes two versions of a list.
 */
/** The tools a caller may see, and the catalog's hash (a cursor is valid for one catalog only). */
type Listed = Pick<ToolCatalog, 'hash' | 'tools'>;

export function toolsPage(
  catalog: Listed,
  cursor: unknown,
  pageSize: number,
): { tools: ToolCatalog['tools']; nextCursor?: string } {
  const offset = cursor === undefined ? 0 : decodeCursor(catalog, cursor);
  const end = offset + pageSize;
  const tools =
    offset === 0 && end >= catalog.tools.length ? catalog.tools : catalog.tools.slice(offset, end);
  return end < catalog.tools.length ? { tools, nextCursor: encodeCursor(catalog, end) } : { tools };
}

function encodeCursor(catalog: Listed, offset: number): string {
  return Buffer.from(JSON.stringify({ h: catalog.hash.slice(0, 16), o: offset })).toString('base64url');
}

function decodeCursor(catalog: Listed, cursor: unknown): number {
  let decoded: { h?: unknown; o?: unknown } | undefined;
  if (typeof cursor === 'string' && cursor.length <= 200) {
    try {
      decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as typeof decoded;
    } catch {
      decoded = undefined;
    }
  }
  const offset = decoded?.o;
  if (
    typeof decoded !== 'object' ||
    decoded === null ||
    typeof offset !== 'number' ||
    !Number.isInteger(offset) ||
    offset <= 0 ||
    offset >= catalog.tools.length + 1
  )
    throw new RpcError(ErrorCode.InvalidParams, 'Invalid cursor: not one this server issued', 200, {
      cursor,
    });
  if (decoded.h !== catalog.hash.slice(0, 16))
    throw new RpcError(
      ErrorCode.InvalidParams,
      'Invalid cursor: the tool list changed since it was issued; list again without a cursor',
      200,
      { cursor },
    );
  return offset;
}
