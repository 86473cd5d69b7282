import { z } from 'zod';
import { listenSchema } from './common.js';

/** `console:` in berth.yaml: the SCM site (log stream, startup logs, sites). Owned by the console part. */
export const consoleSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    listen: listenSchema.default('127.0.0.1:8090'),
  })
  .prefault({});

export type ConsoleConfig = z.infer<typeof consoleSchema>;
