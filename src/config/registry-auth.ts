import { z } from 'zod';

/** `registry.auth` in berth.yaml: who may pull, push and delete. Owned by registry/access. */
export const registryAuthSchema = z
  .strictObject({
    /** Anonymous pull; push and delete always need credentials when any are configured. */
    anonymousPull: z.boolean().default(true),
  })
  .prefault({});

export type RegistryAuthConfig = z.infer<typeof registryAuthSchema>;
