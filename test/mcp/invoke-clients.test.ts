/**
 * The Petstore's tools through the real MCP endpoint (`startMcpServer`) and official clients: the SDK
 * v2 client in both eras and the v1 client list the tools, and their calls reach the example Petstore.
 * The clients validate structuredContent against our outputSchema ($defs and all), so this also proves
 * the generated schemas work in the clients people use.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startMcpServer } from '../../src/mcp/index.js';
import { startPetstore } from '../../examples/petstore/server.js';

const SPEC = fileURLToPath(new URL('../../examples/petstore/openapi.yaml', import.meta.url));

async function setup(t: TestContext) {
  const petstore = await startPetstore();
  const server = await startMcpServer({ spec: SPEC, upstream: petstore.url, watch: false });
  t.after(async () => {
    await server.close();
    await petstore.close();
  });
  return { petstore, url: new URL(server.urls[0]!) };
}

test('SDK v2 client in the 2026-07-28 and 2025-11-25 eras: list and call Petstore tools', async (t) => {
  const { petstore, url } = await setup(t);
  for (const versionNegotiation of [{ mode: { pin: '2026-07-28' } } as const, undefined]) {
    const client = new Client(
      { name: 'petstore-test', version: '1' },
      versionNegotiation ? { versionNegotiation } : {},
    );
    await client.connect(new StreamableHTTPClientTransport(url));
    t.after(() => client.close());
    const { tools } = await client.listTools();
    assert.equal(tools.length, 20);
    const getPet = tools.find((tool) => tool.name === 'getPetById')!;
    assert.deepEqual(getPet.annotations, {
      readOnlyHint: true,
      destructiveHint: false,
      idempotentHint: true,
    });
    assert.ok(getPet.outputSchema, 'outputSchema from the 200 JSON response');

    const pet = await client.callTool({ name: 'getPetById', arguments: { petId: 1 } });
    assert.equal((pet.structuredContent as { name: string }).name, 'Rex');

    const added = await client.callTool({
      name: 'addPet',
      arguments: { body: { name: 'Via MCP', photoUrls: [] } },
    });
    const id = (added.structuredContent as { id: number }).id;
    assert.equal(petstore.data.pets.get(id)?.name, 'Via MCP');

    const missing = await client.callTool({ name: 'getPetById', arguments: { petId: 12345 } });
    assert.equal(missing.isError, true);

    // Invalid arguments are a result the model can read and fix, not a protocol error.
    const invalid = await client.callTool({ name: 'getPetById', arguments: { petId: 'x' } });
    assert.equal(invalid.isError, true);
    assert.match((invalid.content as Array<{ text: string }>)[0]!.text, /"petId" must be integer/);
  }
});

test('SDK v1 client: list, call, binary image result', async (t) => {
  const { petstore, url } = await setup(t);
  petstore.data.images.set(2, { bytes: Buffer.from([0x89, 0x50, 0x4e, 0x47]), contentType: 'image/png' });
  const client = new ClientV1({ name: 'petstore-v1', version: '1' });
  await client.connect(new TransportV1(url));
  t.after(() => client.close());
  const { tools } = await client.listTools();
  assert.equal(tools.length, 20);
  const inventory = await client.callTool({ name: 'getInventory', arguments: {} });
  assert.equal(typeof (inventory.structuredContent as Record<string, number>).available, 'number');
  const photo = await client.callTool({ name: 'getPetPhoto', arguments: { petId: 2 } });
  assert.deepEqual(photo.content, [
    { type: 'image', data: Buffer.from([0x89, 0x50, 0x4e, 0x47]).toString('base64'), mimeType: 'image/png' },
  ]);
});
