// Preloaded into every Node.js process of a site (NODE_OPTIONS=--import, set by instance.ts).
//
// A site sees only its own package: a module that the site's code imports and that is found in a
// node_modules folder above the site's folder (Berth's own checkout, or the project that holds
// berth.yaml) is reported as not found, as it would be on a host that runs only the package. Node
// walks up to / for bare specifiers and has no flag to stop it, so the answer is checked here: after
// Node resolves, before anything is loaded. Code outside the folder (npm, npx, a global tool) is
// not fenced, only what the site's own files import.
import Module, { register } from 'node:module';
import { isOutside, notFound } from './rule.mjs';

const root = process.env.BERTH_MODULE_FENCE;
if (root) {
  // import and import(): resolve hooks run on the loader thread (module.register, Node >= 20.6).
  register('./hooks.mjs', import.meta.url, { data: { root } });
  // require(): the CommonJS resolver, which module.register does not see on Node 20.
  const resolveFilename = Module._resolveFilename;
  Module._resolveFilename = function fencedResolve(request, parent, ...rest) {
    const filename = resolveFilename.call(this, request, parent, ...rest);
    if (parent?.filename && isOutside(root, parent.filename, filename))
      throw notFound('MODULE_NOT_FOUND', `Cannot find module '${request}'`, filename);
    return filename;
  };
}
