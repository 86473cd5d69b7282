/**
 * The secrets part: Berth's encrypted secret store (AES-256-GCM, key file outside the data
 * folder) and the secret references app settings may hold instead of values (App Service's Key
 * Vault references, and `@secret(name)`), resolved only into an instance's environment.
 */
export {
  SecretStore,
  SecretNotFound,
  SECRET_NAME,
  type SecretInfo,
  type SecretVersionInfo,
} from './store.js';
export {
  parseReference,
  resolveSettings,
  referencedSecrets,
  UnresolvedReference,
  type ResolvedSettings,
  type SecretReference,
} from './references.js';
export { secretStoreOf } from './paths.js';
export { watchSecrets } from './watch.js';
