import { OciError } from './errors.js';

/** OCI distribution-spec `<name>` grammar: path components of lower-case alphanumerics and separators. */
const NAME = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
/** Tags: the spec's `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`. */
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
/**
 * Clients limit `host/name` to 255 characters (spec: "Many clients may impose a limit of 255"); we
 * refuse longer names outright so nothing is stored under a name no client can pull.
 */
export const MAX_NAME_LENGTH = 255;

export function validateRepositoryName(name: string): string {
  if (name.length > MAX_NAME_LENGTH) {
    throw new OciError(
      'NAME_INVALID',
      `repository name is ${name.length} characters; the limit is ${MAX_NAME_LENGTH}`,
      { detail: { name: name.slice(0, 64) + '…' } },
    );
  }
  if (!NAME.test(name)) {
    throw new OciError(
      'NAME_INVALID',
      `invalid repository name "${name}": use lower-case letters, digits and . _ __ - separators, with / between components (no "..", no upper case)`,
      {
        detail: { name },
      },
    );
  }
  return name;
}

export function isValidTag(tag: string): boolean {
  return TAG.test(tag);
}
