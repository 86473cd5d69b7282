import { z } from 'zod';
import { durationSchema, sizeSchema } from './common.js';

/** `logs:` in berth.yaml: the log store. Owned by the logs part. */
export const logsSchema = z
  .strictObject({
    retention: z
      .strictObject({
        maxAge: durationSchema.default(7 * 86_400_000),
        maxSize: sizeSchema.default(1024 ** 3),
      })
      .prefault({}),
  })
  .prefault({});

export type LogsConfig = z.infer<typeof logsSchema>;
