/** Runs the example Petstore: `npx tsx examples/petstore/main.ts [port]`. Stops on SIGINT/SIGTERM. */
import { startPetstore } from './server.js';

const port = Number(process.argv[2] ?? 0);
const petstore = await startPetstore({ port });
console.log(`petstore listening on ${petstore.url} (OpenAPI document: examples/petstore/openapi.yaml)`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void petstore.close().then(() => process.exit(0));
  });
}
