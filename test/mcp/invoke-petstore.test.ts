// Calls through the tool catalog against the example Petstore: a real Fastify server on an ephemeral port.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { buildCatalog, loadSpec, type OpenApiCatalog } from '../../src/mcp/openapi/index.js';
import { InvalidToolCall, type CallContext } from '../../src/mcp/types.js';
import { startPetstore, type RunningPetstore } from '../../examples/petstore/server.js';

const SPEC = fileURLToPath(new URL('../../examples/petstore/openapi.yaml', import.meta.url));
let petstore: RunningPetstore;
let catalog: OpenApiCatalog;
const ctx = (): CallContext => ({ signal: new AbortController().signal });

before(async () => {
  petstore = await startPetstore();
  const { document } = await loadSpec(SPEC);
  catalog = buildCatalog(document, { upstream: petstore.url });
});
after(() => petstore.close());

test('path parameter and JSON response: structuredContent plus a text copy', async () => {
  const result = await catalog.call('getPetById', { petId: 1 }, ctx());
  assert.equal(result.isError, undefined);
  assert.equal(result.structuredContent?.name, 'Rex');
  assert.deepEqual(JSON.parse((result.content[0] as { text: string }).text), result.structuredContent);
});

test('JSON body round-trips: addPet then getPetById', async () => {
  const added = await catalog.call(
    'addPet',
    { body: { name: 'Bella', photoUrls: ['p.png'], status: 'available' } },
    ctx(),
  );
  const id = added.structuredContent?.id as number;
  assert.equal(typeof id, 'number');
  const fetched = await catalog.call('getPetById', { petId: id }, ctx());
  assert.equal(fetched.structuredContent?.name, 'Bella');
  assert.deepEqual(petstore.data.pets.get(id)?.photoUrls, ['p.png']);
});

test('query arrays: explode=true repeats the key, explode=false joins with commas', async () => {
  const byStatus = await catalog.call('findPetsByStatus', { status: ['pending', 'sold'] }, ctx());
  const names = (byStatus.structuredContent?.result as { name: string }[]).map((p) => p.name).sort();
  assert.deepEqual(names, ['Nemo', 'Tom']);
  const byTags = await catalog.call('findPetsByTags', { tags: ['dog', 'fish'] }, ctx());
  assert.deepEqual((byTags.structuredContent?.result as { name: string }[]).map((p) => p.name).sort(), [
    'Nemo',
    'Rex',
  ]);
});

test('form-urlencoded body updates the pet', async () => {
  const result = await catalog.call(
    'updatePetWithForm',
    { petId: 2, body: { name: 'Thomas', status: 'sold' } },
    ctx(),
  );
  assert.equal(result.isError, undefined);
  assert.equal(petstore.data.pets.get(2)?.name, 'Thomas');
  assert.equal(petstore.data.pets.get(2)?.status, 'sold');
});

test('multipart upload with a base64 file, then the binary download comes back as an image', async () => {
  const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001', 'hex');
  const upload = await catalog.call(
    'uploadFile',
    {
      petId: 1,
      body: {
        additionalMetadata: 'front',
        file: { data: png.toString('base64'), contentType: 'image/png', filename: 'rex.png' },
      },
    },
    ctx(),
  );
  assert.equal(upload.isError, undefined, JSON.stringify(upload));
  assert.match(
    String(upload.structuredContent?.message),
    /additionalMetadata: front\nFile uploaded, 20 bytes, image\/png/,
  );
  const photo = await catalog.call('getPetPhoto', { petId: 1 }, ctx());
  assert.deepEqual(photo.content, [{ type: 'image', data: png.toString('base64'), mimeType: 'image/png' }]);
});

test('text/plain body and response', async () => {
  const put = await catalog.call('setPetNotes', { petId: 3, body: 'Blub. Likes bubbles.' }, ctx());
  assert.equal(put.isError, undefined);
  const get = await catalog.call('getPetNotes', { petId: 3 }, ctx());
  assert.deepEqual(get.content, [{ type: 'text', text: 'Blub. Likes bubbles.' }]);
  assert.equal(get.structuredContent, undefined);
});

test('HTTP errors become isError with the status and the body excerpt', async () => {
  const result = await catalog.call('getPetById', { petId: 999 }, ctx());
  assert.equal(result.isError, true);
  assert.match((result.content[0] as { text: string }).text, /^HTTP 404: .*Pet not found/);
});

test('header parameter reaches the API; delete removes the pet', async () => {
  const result = await catalog.call('deletePet', { petId: 3, api_key: 'secret-key' }, ctx());
  assert.equal(result.isError, undefined);
  assert.match(String(result.structuredContent?.message), /api_key 10 chars/);
  assert.equal(petstore.data.pets.has(3), false);
});

test('unknown tool and bad arguments are InvalidToolCall naming the problem', async () => {
  await assert.rejects(
    catalog.call('noSuchTool', {}, ctx()),
    (e: Error) => e instanceof InvalidToolCall && /unknown tool "noSuchTool"/.test(e.message),
  );
  await assert.rejects(
    catalog.call('getPetById', {}, ctx()),
    (e: Error) => e instanceof InvalidToolCall && /missing required argument "petId"/.test(e.message),
  );
  await assert.rejects(
    catalog.call('getPetById', { petId: 'one' }, ctx()),
    (e: Error) => e instanceof InvalidToolCall && /"petId" must be integer/.test(e.message),
  );
  await assert.rejects(
    catalog.call('addPet', { body: { name: 5, photoUrls: [] } }, ctx()),
    (e: Error) => e instanceof InvalidToolCall && /"body.name" must be string/.test(e.message),
  );
  await assert.rejects(
    catalog.call('getPetById', { petId: 1, extra: true }, ctx()),
    (e: Error) => e instanceof InvalidToolCall && /unknown argument "extra"/.test(e.message),
  );
});

test('the published Petstore documents (2.0, 3.0, 3.1 from @readme/oas-examples) round-trip against the server', async () => {
  // Their server path is /v2: a Petstore mounted there is reached through the spec's own base path.
  const v2 = await startPetstore({ prefix: '/v2' });
  try {
    const require = createRequire(import.meta.url);
    const examples = join(require.resolve('@readme/oas-examples/package.json'), '..');
    for (const version of ['2.0', '3.0', '3.1']) {
      const { document } = await loadSpec(join(examples, version, 'json', 'petstore.json'));
      const published = buildCatalog(document, { upstream: v2.url });
      const added = await published.call(
        'addPet',
        { body: { name: `pet-${version}`, photoUrls: [] } },
        ctx(),
      );
      assert.equal(added.isError, undefined, `${version}: ${JSON.stringify(added.content)}`);
      const id = added.structuredContent?.id as number;
      const fetched = await published.call('getPetById', { petId: id }, ctx());
      assert.equal(fetched.structuredContent?.name, `pet-${version}`, version);
      const form = await published.call('updatePetWithForm', { petId: id, body: { status: 'sold' } }, ctx());
      assert.equal(form.isError, undefined, version);
      assert.equal(v2.data.pets.get(id)?.status, 'sold', version);
      const sold = await published.call('findPetsByStatus', { status: ['sold'] }, ctx());
      assert.ok(
        (sold.structuredContent?.result as { id: number }[]).some((p) => p.id === id),
        version,
      );
      const bytes = Buffer.from(`image-${version}`).toString('base64');
      const upload = await published.call(
        'uploadFile',
        { petId: id, body: version === '3.1' ? bytes : { file: { data: bytes, contentType: 'image/png' } } },
        ctx(),
      );
      assert.equal(upload.isError, undefined, `${version}: ${JSON.stringify(upload.content)}`);
      assert.equal(v2.data.images.get(id)?.bytes.toString(), `image-${version}`, version);
      const deleted = await published.call('deletePet', { petId: id, api_key: 'k' }, ctx());
      assert.equal(deleted.isError, undefined, version);
      assert.equal(v2.data.pets.has(id), false, version);
    }
  } finally {
    await v2.close();
  }
});
