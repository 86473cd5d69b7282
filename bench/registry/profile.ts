import { MiB } from './fixtures.js';

/** How much work each row does. `full` is what docs/benchmarks/registry.md reports; `smoke` proves the harness works. */
export interface Profile {
  name: 'full' | 'smoke';
  /** Blob sizes for the push and pull rows, with ops and concurrency per size. */
  blobs: {
    size: number;
    pushOps: number;
    pushConcurrency: number;
    pullOps: number;
    pullConcurrency: number;
  }[];
  manifestOps: number;
  manifestConcurrency: number;
  tags: number;
  tagConcurrency: number;
  listOps: number;
  /** Sustained blob GET with wrk (and nginx as the ceiling). */
  wrkSize: number;
  wrkConnections: number;
  wrkSeconds: number;
  /** N clients pulling one blob at once (curl). */
  burstClients: number;
  burstSize: number;
  burstRounds: number;
  /** Resident memory while N clients pull one big blob. */
  rssClients: number;
  rssSize: number;
}

export const FULL: Profile = {
  name: 'full',
  blobs: [
    { size: 1024, pushOps: 500, pushConcurrency: 4, pullOps: 2000, pullConcurrency: 16 },
    { size: MiB, pushOps: 100, pushConcurrency: 4, pullOps: 400, pullConcurrency: 8 },
    { size: 64 * MiB, pushOps: 6, pushConcurrency: 1, pullOps: 20, pullConcurrency: 1 },
    { size: 512 * MiB, pushOps: 2, pushConcurrency: 1, pullOps: 4, pullConcurrency: 1 },
  ],
  manifestOps: 5000,
  manifestConcurrency: 32,
  tags: 10_000,
  tagConcurrency: 16,
  listOps: 20,
  wrkSize: 64 * MiB,
  wrkConnections: 4,
  wrkSeconds: 10,
  burstClients: 50,
  burstSize: 64 * MiB,
  burstRounds: 3,
  rssClients: 50,
  rssSize: 512 * MiB,
};

export const SMOKE: Profile = {
  name: 'smoke',
  blobs: [
    { size: 1024, pushOps: 5, pushConcurrency: 2, pullOps: 10, pullConcurrency: 2 },
    { size: 64 * 1024, pushOps: 3, pushConcurrency: 1, pullOps: 5, pullConcurrency: 1 },
  ],
  manifestOps: 40,
  manifestConcurrency: 4,
  tags: 30,
  tagConcurrency: 4,
  listOps: 3,
  wrkSize: 256 * 1024,
  wrkConnections: 2,
  wrkSeconds: 1,
  burstClients: 5,
  burstSize: 256 * 1024,
  burstRounds: 1,
  rssClients: 5,
  rssSize: MiB,
};
