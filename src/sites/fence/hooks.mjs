// The loader-thread half of the fence (see preload.mjs): refuses an import that a file inside the
// site's folder makes when Node found it in a node_modules folder outside it.
import { fileURLToPath } from 'node:url';
import { isOutside, notFound } from './rule.mjs';

let root = '';

export function initialize(data) {
  root = data.root;
}

export async function resolve(specifier, context, nextResolve) {
  const result = await nextResolve(specifier, context);
  const { parentURL } = context;
  if (parentURL?.startsWith('file:') && result.url.startsWith('file:')) {
    const parent = fileURLToPath(parentURL);
    const filename = fileURLToPath(result.url);
    if (isOutside(root, parent, filename))
      throw notFound(
        'ERR_MODULE_NOT_FOUND',
        `Cannot find package '${specifier}' imported from ${parent}`,
        filename,
      );
  }
  return result;
}
