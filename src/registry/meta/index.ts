// Registry metadata: the MetadataStore interface and its SQLite and PostgreSQL implementations.
export type {
  GcInventory,
  ManifestRecord,
  MetadataDriver,
  MetadataStore,
  ReferrerRecord,
  UploadLease,
  UploadSession,
} from './types.js';
export { openMetadataStore, type MetadataOptions } from './open.js';
