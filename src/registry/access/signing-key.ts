import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../../lib/logger.js';

export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** JWS algorithm for the key type. */
  alg: 'ES256' | 'ES384' | 'ES512' | 'RS256' | 'EdDSA';
}

/**
 * Reads the PEM private key that signs registry tokens, or creates one (EC P-256, file mode 0600)
 * when the file does not exist yet, so a fresh data dir works without setup.
 */
export function loadOrCreateSigningKey(file: string, log: Logger): SigningKey {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new Error(
        `registry.auth.token.signingKey: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    mkdirSync(dirname(file), { recursive: true });
    // 'wx' fails if another process created it meanwhile; then use theirs.
    try {
      writeFileSync(file, pem, { mode: 0o600, flag: 'wx' });
      log.info({ file }, 'generated a token signing key');
    } catch (writeError) {
      if ((writeError as NodeJS.ErrnoException).code !== 'EEXIST') throw writeError;
      pem = readFileSync(file, 'utf8');
    }
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch {
    throw new Error(`registry.auth.token.signingKey: ${file} is not a PEM private key`);
  }
  return { privateKey, publicKey: createPublicKey(privateKey), alg: algorithmFor(privateKey, file) };
}

function algorithmFor(key: KeyObject, file: string): SigningKey['alg'] {
  const type = key.asymmetricKeyType;
  if (type === 'rsa') return 'RS256';
  if (type === 'ed25519') return 'EdDSA';
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'prime256v1') return 'ES256';
    if (curve === 'secp384r1') return 'ES384';
    if (curve === 'secp521r1') return 'ES512';
  }
  throw new Error(
    `registry.auth.token.signingKey: ${file} holds a ${type} key; use EC P-256/384/521, RSA or Ed25519`,
  );
}
