import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * HMAC-SHA256 with one key: the one signer for every part that makes tamper-proof tokens of its own
 * (MCP session ids, ARR affinity cookies). Verification compares in constant time.
 */
export class HmacSigner {
  private readonly key: Buffer;

  /** `minBytes`: a shorter key is refused (a key that short would be guessable). */
  constructor(key: string | Buffer, minBytes = 16) {
    this.key = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
    if (this.key.length < minBytes) throw new Error(`the signing key must be at least ${minBytes} bytes`);
  }

  sign(payload: string, encoding: 'base64url' | 'hex' = 'base64url'): string {
    return createHmac('sha256', this.key).update(payload).digest(encoding);
  }

  /** Whether `signature` is this key's signature of `payload` (in the same encoding). */
  verify(payload: string, signature: string, encoding: 'base64url' | 'hex' = 'base64url'): boolean {
    const expected = Buffer.from(this.sign(payload, encoding));
    const given = Buffer.from(signature);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }
}
