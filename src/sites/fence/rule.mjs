// The fence's one rule, shared by the import and require halves.
import { sep } from 'node:path';

const inside = (root, path) => path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);

/** True when a file of the site (`parent`) would load `filename` from a node_modules folder above it. */
export function isOutside(root, parent, filename) {
  return inside(root, parent) && !inside(root, filename) && filename.split(sep).includes('node_modules');
}

/** The error Node itself throws for a missing module, with why Berth did not take the one it found. */
export function notFound(code, message, filename) {
  const error = new Error(
    `${message}\n(Berth: the site's folder does not have it; ${filename} is outside the folder, and a site sees only its own package)`,
  );
  error.code = code;
  return error;
}
