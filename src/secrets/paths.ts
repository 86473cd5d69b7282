import { basename, dirname, join, resolve } from 'node:path';
import { SecretStore } from './store.js';

/**
 * The store of a config: values under `<dataDir>/secret-store/`, the key at `secrets.keyFile`, by
 * default beside the data folder (`<dataDir>-secrets.key`), so that copying or backing up the
 * data folder never takes the key along with the ciphertext.
 */
export function secretStoreOf(
  config: { dataDir: string; secrets: { keyFile?: string } },
  baseDir: string,
): SecretStore {
  const dataDir = resolve(baseDir, config.dataDir);
  const keyFile = config.secrets.keyFile
    ? resolve(baseDir, config.secrets.keyFile)
    : join(dirname(dataDir), `${basename(dataDir)}-secrets.key`);
  return new SecretStore(join(dataDir, 'secret-store'), keyFile);
}
