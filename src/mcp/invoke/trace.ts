import { randomBytes } from 'node:crypto';

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * The traceparent for the upstream hop: the caller's trace id and flags with a new span id (this hop),
 * or a fresh trace when the caller sent none or an invalid one (W3C Trace Context §3.2).
 */
export function childTraceparent(incoming: string | undefined): string {
  const match = incoming ? TRACEPARENT.exec(incoming.trim().toLowerCase()) : null;
  const span = randomBytes(8).toString('hex');
  if (match && match[1] !== 'ff' && !/^0+$/.test(match[2]!) && !/^0+$/.test(match[3]!)) {
    return `00-${match[2]}-${span}-${match[4]}`;
  }
  return `00-${randomBytes(16).toString('hex')}-${span}-01`;
}
