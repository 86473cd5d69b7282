// Non-distributable ("foreign") layers: a manifest whose foreign layers list allowed `urls` is
// accepted without those blobs being pushed (image-spec; distribution does the same, and older
// Windows images need it), a URL the allow/deny lists refuse is a clear MANIFEST_INVALID, and nothing
// else about manifest verification loosens.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { collectGarbage } from '../../src/registry/index.js';
import { COMBOS, forEachCombo, startTestRegistry } from './support/harness.js';
import {
  blob,
  errorCode,
  OCI_CONFIG,
  OCI_LAYER,
  OCI_MANIFEST,
  pushBlob,
  putManifest,
  type Blob,
} from './support/oci.js';

const OCI_FOREIGN = 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
const DOCKER_FOREIGN = 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip';
const DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar.gzip';

const URLS = {
  allow: ['^https://mcr\\.microsoft\\.com/', '^https://layers\\.example\\.com/'],
  deny: ['^https://layers\\.example\\.com/private/'],
};

interface Layer {
  mediaType: string;
  blob: Blob;
  urls?: unknown;
}

function manifest(config: Blob, layers: Layer[], docker = false): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: docker ? DOCKER_MANIFEST : OCI_MANIFEST,
      config: {
        mediaType: docker ? DOCKER_CONFIG : OCI_CONFIG,
        digest: config.digest,
        size: config.bytes.length,
      },
      layers: layers.map((l) => ({
        mediaType: l.mediaType,
        digest: l.blob.digest,
        size: l.blob.bytes.length,
        ...(l.urls !== undefined ? { urls: l.urls } : {}),
      })),
    }),
  );
}

/** A Windows base layer as MCR lists it: never pushed, fetched by clients from its URL. */
function windowsBase(name: string): Layer {
  const b = blob(`windows base layer ${name} ${Math.random()}`);
  return {
    mediaType: OCI_FOREIGN,
    blob: b,
    urls: [`https://mcr.microsoft.com/v2/windows/servercore/blobs/${b.digest}`],
  };
}

await forEachCombo(
  describe,
  (registry) => {
    test('a foreign layer with an allowed URL is accepted without its blob, OCI and Docker manifests alike', async () => {
      const { url } = registry();
      const config = blob('{"os":"windows"}');
      const app = blob('the application layer, pushed');
      for (const b of [config, app]) assert.equal((await pushBlob(url, 'win/app', b)).status, 201);
      const base = windowsBase('oci');
      const oci = manifest(config, [base, { mediaType: OCI_LAYER, blob: app }]);
      const put = await putManifest(url, 'win/app', 'v1', oci);
      assert.equal(put.status, 201, await put.text());
      const got = await fetch(`${url}/v2/win/app/manifests/v1`);
      assert.deepEqual(Buffer.from(await got.arrayBuffer()), oci, 'stored byte for byte');
      const foreignBlob = await fetch(`${url}/v2/win/app/blobs/${base.blob.digest}`, { method: 'HEAD' });
      assert.equal(
        foreignBlob.status,
        404,
        'the registry does not have (or pretend to have) the foreign bytes',
      );

      const dockerBase = { ...windowsBase('docker'), mediaType: DOCKER_FOREIGN };
      const docker = manifest(config, [dockerBase, { mediaType: DOCKER_LAYER, blob: app }], true);
      const dockerPut = await putManifest(url, 'win/app', 'docker', docker, DOCKER_MANIFEST);
      assert.equal(dockerPut.status, 201, await dockerPut.text());
      // Another allowed host, from the configured list.
      const other = {
        mediaType: OCI_FOREIGN,
        blob: blob('from layers.example.com'),
        urls: ['https://layers.example.com/l/1'],
      };
      assert.equal((await putManifest(url, 'win/app', 'other', manifest(config, [other]))).status, 201);
    });

    test('a URL the lists refuse is MANIFEST_INVALID naming the URL and the setting, and nothing is stored', async () => {
      const { url } = registry();
      const config = blob('{"os":"windows","refused":true}');
      await pushBlob(url, 'win/refused', config);
      const cases: [string, unknown, RegExp][] = [
        [
          'denied',
          ['https://layers.example.com/private/secret'],
          /urls\.deny \(\^https:\/\/layers\\\.example\\\.com\/private\/\)/,
        ],
        [
          'not allowed',
          ['https://evil.example.net/layer'],
          /evil\.example\.net\/layer matches no pattern of registry\.validation\.manifests\.urls\.allow/,
        ],
        [
          'one of two not allowed',
          ['https://mcr.microsoft.com/ok', 'https://evil.example.net/x'],
          /urls\[1\].*matches no pattern/,
        ],
        ['not http', ['ftp://mcr.microsoft.com/layer'], /must be http or https/],
        ['a fragment', ['https://mcr.microsoft.com/layer#part'], /must not have a fragment/],
        ['not a URL', ['mcr.microsoft.com/layer'], /is not a URL/],
        ['not strings', [42], /urls must be an array of strings/],
        ['not an array', 'https://mcr.microsoft.com/layer', /urls must be an array of strings/],
        ['far too long', [`https://mcr.microsoft.com/${'a'.repeat(3000)}`], /longer than 2048 characters/],
      ];
      for (const [name, urls, message] of cases) {
        const body = manifest(config, [{ mediaType: OCI_FOREIGN, blob: blob(`refused ${name}`), urls }]);
        const res = await putManifest(url, 'win/refused', 'v1', body);
        assert.equal(res.status, 400, name);
        const error = ((await res.json()) as { errors: { code: string; message: string }[] }).errors[0]!;
        assert.equal(error.code, 'MANIFEST_INVALID', name);
        assert.match(error.message, message, name);
        assert.match(error.message, /layers\[0\]\.urls/, `${name}: names the layer`);
      }
      assert.equal((await fetch(`${url}/v2/win/refused/manifests/v1`)).status, 404, 'no tag was created');
    });

    test('only foreign layers with URLs may be missing: other layers, and foreign ones without URLs, must be pushed', async () => {
      const { url } = registry();
      const config = blob('{"os":"windows","strict":true}');
      await pushBlob(url, 'win/strict', config);
      const regularWithUrl = {
        mediaType: OCI_LAYER,
        blob: blob('regular layer with a url'),
        urls: ['https://mcr.microsoft.com/x'],
      };
      const foreignNoUrl = { mediaType: OCI_FOREIGN, blob: blob('foreign layer without urls') };
      const emptyUrls = { mediaType: OCI_FOREIGN, blob: blob('foreign layer, empty urls'), urls: [] };
      for (const layer of [regularWithUrl, foreignNoUrl, emptyUrls]) {
        const res = await putManifest(url, 'win/strict', 'v1', manifest(config, [layer]));
        assert.equal(res.status, 400);
        assert.equal(await errorCode(res), 'MANIFEST_BLOB_UNKNOWN');
      }
      // Pushed as well, the foreign layer without URLs is an ordinary layer.
      await pushBlob(url, 'win/strict', foreignNoUrl.blob);
      assert.equal(
        (await putManifest(url, 'win/strict', 'v1', manifest(config, [foreignNoUrl]))).status,
        201,
      );
    });

    test('a foreign layer that was pushed anyway is kept by gc while its manifest is', async () => {
      const r = registry();
      const config = blob('{"os":"windows","gc":true}');
      const base = windowsBase('pushed too');
      for (const b of [config, base.blob]) await pushBlob(r.url, 'win/gc', b);
      assert.equal((await putManifest(r.url, 'win/gc', 'v1', manifest(config, [base]))).status, 201);
      const report = await collectGarbage(r.storage.meta, r.storage.store, {
        gracePeriodMs: 0,
        uploadExpiryMs: 3_600_000,
        now: Date.now() + 1000,
      });
      assert.ok(!report.blobs.some((b) => b.digest === base.blob.digest));
      assert.equal(
        await (await fetch(`${r.url}/v2/win/gc/blobs/${base.blob.digest}`)).text(),
        base.blob.bytes.toString(),
      );
    });
  },
  { validation: { manifests: { urls: URLS } } },
);

describe('registry.validation.manifests.urls defaults and settings', () => {
  test('by default MCR (where Windows base layers point) is allowed, other hosts are not; allow: [] refuses all', async (t) => {
    const defaults = await startTestRegistry(COMBOS[0]!);
    const none = await startTestRegistry(COMBOS[0]!, { validation: { manifests: { urls: { allow: [] } } } });
    t.after(async () => {
      await defaults.close();
      await none.close();
    });
    assert.deepEqual(defaults.config.validation.manifests.urls, {
      allow: ['^https://mcr\\.microsoft\\.com/'],
      deny: [],
    });
    for (const r of [defaults, none]) {
      const config = blob(`{"os":"windows","defaults":${Math.random()}}`);
      await pushBlob(r.url, 'win/default', config);
      const mcr = await putManifest(r.url, 'win/default', 'mcr', manifest(config, [windowsBase('default')]));
      assert.equal(mcr.status, r === defaults ? 201 : 400);
      const elsewhere = {
        mediaType: OCI_FOREIGN,
        blob: blob('elsewhere'),
        urls: ['https://layers.example.com/l'],
      };
      const refused = await putManifest(r.url, 'win/default', 'elsewhere', manifest(config, [elsewhere]));
      assert.equal(refused.status, 400);
      assert.equal(await errorCode(refused), 'MANIFEST_INVALID');
    }
  });

  test('patterns are read from berth.yaml and checked when it is loaded', () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-foreign-config-'));
    try {
      const file = join(dir, 'berth.yaml');
      writeFileSync(
        file,
        'registry:\n  validation:\n    manifests:\n      urls:\n        allow: ["^https://a\\\\.example/"]\n        deny: [private]\n',
      );
      assert.deepEqual(loadConfig(file, {}).config.registry.validation.manifests.urls, {
        allow: ['^https://a\\.example/'],
        deny: ['private'],
      });
      writeFileSync(
        file,
        'registry:\n  validation:\n    manifests:\n      urls:\n        deny: ["(unclosed"]\n',
      );
      assert.throws(
        () => loadConfig(file, {}),
        (error: unknown) =>
          error instanceof ConfigError &&
          /registry\.validation\.manifests\.urls\.deny\.0: not a regular expression/.test(error.message),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
