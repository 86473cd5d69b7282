import { siteNameSchema, slotNameSchema } from '../config/index.js';
import { HttpError } from '../lib/problem.js';

export const PRODUCTION = 'production';

/** Refuses names that could not be a host label or folder name (`../x`, `A B`, `name_1`, ...). */
export function checkSiteName(name: unknown): string {
  const parsed = siteNameSchema.safeParse(name);
  if (!parsed.success)
    throw new HttpError(400, `invalid site name ${JSON.stringify(name)}: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

export function checkSlotName(name: unknown): string {
  if (name === PRODUCTION) return PRODUCTION;
  const parsed = slotNameSchema.safeParse(name);
  if (!parsed.success)
    throw new HttpError(400, `invalid slot name ${JSON.stringify(name)}: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}
