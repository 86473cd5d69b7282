import { realpath } from 'node:fs/promises';

const PRELOAD = new URL('./fence/preload.mjs', import.meta.url);

/**
 * The environment that fences a site's Node.js processes to its folder (see fence/preload.mjs): a
 * module the package does not ship fails with "Cannot find module/package" even when a node_modules
 * folder above it (Berth's checkout, the user's project) has it. NODE_OPTIONS from the app settings
 * is kept, after the preload. Other runtimes do not walk up and are not affected.
 */
export async function moduleFenceEnv(
  folder: string,
  appNodeOptions: string | undefined,
): Promise<Record<string, string>> {
  const root = await realpath(folder).catch(() => folder);
  const preload = `--import=${PRELOAD.href}`;
  return {
    BERTH_MODULE_FENCE: root,
    NODE_OPTIONS: appNodeOptions ? `${preload} ${appNodeOptions}` : preload,
  };
}
