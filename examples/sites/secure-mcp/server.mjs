// The secure MCP server of the App Service post "Only 8.5% of MCP Servers Use OAuth", as a Berth
// site: a small REST API whose OpenAPI document the built-in MCP turns into tools. The front door
// signs callers in (sites[].auth) and hands the verified identity over as X-MS-CLIENT-PRINCIPAL
// headers; this app only reads them. Listens on PORT.
//   GET /whoami                       who the front door says is calling (tool whoami)
//   GET /secrets/{name}/metadata      a secret's length and version, never its value (tool read_secret_metadata)
//   GET /lookup?key=                  a fixed allow-list; traversal and injection attempts refused (tool safe_lookup)
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 8080);

/** Secrets this app may describe: app settings whose values Berth resolved from secret references. */
const SECRETS = { 'demo-secret': 'DEMO_SECRET' };
const DOCS = {
  'getting-started': 'Sign in, then call whoami to see who the front door says you are.',
  scopes: 'Each tool may need its own scope; a 403 names the one to ask for.',
};
const SUSPICIOUS = ['..', '/', '\\', ';', '|', '$(', '`', '\0'];

function json(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** The principal Easy Auth passed on: base64 JSON {auth_typ, claims:[{typ,val}], name_typ, role_typ}. */
function principal(req) {
  const raw = req.headers['x-ms-client-principal'];
  if (typeof raw !== 'string') return { authenticated: false };
  let decoded;
  try {
    decoded = JSON.parse(Buffer.from(raw, 'base64').toString('utf8'));
  } catch {
    return { authenticated: false, error: 'X-MS-CLIENT-PRINCIPAL is not base64 JSON' };
  }
  const claims = Array.isArray(decoded.claims) ? decoded.claims : [];
  const values = (typ) => claims.filter((c) => c.typ === typ).map((c) => c.val);
  return {
    authenticated: true,
    id: req.headers['x-ms-client-principal-id'],
    name: req.headers['x-ms-client-principal-name'],
    idp: req.headers['x-ms-client-principal-idp'],
    authType: decoded.auth_typ,
    roles: values(decoded.role_typ ?? 'roles'),
    scopes: values('scope').flatMap((s) => s.split(' ')),
    claimTypes: [...new Set(claims.map((c) => c.typ))],
  };
}

const openapi = {
  openapi: '3.0.3',
  info: { title: 'Secure MCP demo', version: '1.0.0' },
  components: {
    securitySchemes: {
      entra: {
        type: 'oauth2',
        flows: {
          clientCredentials: {
            tokenUrl: 'https://login.example/token',
            scopes: { 'tools:secrets': 'read secret metadata' },
          },
        },
      },
    },
  },
  paths: {
    '/whoami': {
      get: {
        operationId: 'whoami',
        summary: 'Who the front door says is calling',
        responses: { 200: { description: 'the caller' } },
      },
    },
    '/secrets/{name}/metadata': {
      get: {
        operationId: 'read_secret_metadata',
        summary: "A secret's length and version; the value is never returned",
        // The scope the built-in MCP asks for this tool when sites[].mcp.scopes names none.
        security: [{ entra: ['tools:secrets'] }],
        parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { 200: { description: 'metadata' }, 404: { description: 'unknown secret' } },
      },
    },
    '/lookup': {
      get: {
        operationId: 'safe_lookup',
        summary: 'Looks a topic up in a fixed list; refuses anything that looks like traversal or injection',
        parameters: [
          { name: 'key', in: 'query', required: true, schema: { type: 'string', maxLength: 200 } },
        ],
        responses: { 200: { description: 'the topic, or found: false' } },
      },
    },
  },
};

/** BERTH_SECRET_VERSIONS: {"<setting>": <version>} for app settings that were secret references. */
function versions() {
  try {
    return JSON.parse(process.env.BERTH_SECRET_VERSIONS ?? '{}');
  } catch {
    return {};
  }
}

const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/openapi.json') return json(res, 200, openapi);
  if (url.pathname === '/whoami' || url.pathname === '/') return json(res, 200, principal(req));
  const secret = /^\/secrets\/([^/]+)\/metadata$/.exec(url.pathname);
  if (secret) {
    const name = decodeURIComponent(secret[1]);
    const setting = Object.hasOwn(SECRETS, name) ? SECRETS[name] : undefined;
    const value = setting ? process.env[setting] : undefined;
    if (value === undefined) return json(res, 404, { available: false, name });
    return json(res, 200, {
      available: true,
      name,
      // Berth lists the version of every resolved reference; the value itself never leaves.
      version: versions()[setting] ?? null,
      value_length: value.length,
      note: 'Value intentionally withheld: metadata only.',
    });
  }
  if (url.pathname === '/lookup') {
    const key = url.searchParams.get('key') ?? '';
    const suspicious = SUSPICIOUS.some((t) => key.includes(t));
    if (!suspicious && Object.hasOwn(DOCS, key))
      return json(res, 200, { topic: key, doc: DOCS[key], found: true });
    return json(res, 200, { found: false, rejected_as_suspicious: suspicious });
  }
  if (url.pathname === '/robots933456.txt') return json(res, 200, { ok: true });
  json(res, 404, { error: 'not found' });
});
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
