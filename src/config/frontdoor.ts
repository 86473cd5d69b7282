import { z } from 'zod';
import { listenSchema } from './common.js';

/** `frontdoor:` in berth.yaml: where sites are served. Owned by the frontdoor part. */
export const frontdoorSchema = z
  .strictObject({
    listen: listenSchema.default('127.0.0.1:8080'),
  })
  .prefault({});

export type FrontdoorConfig = z.infer<typeof frontdoorSchema>;
