// The floor for the auth benchmark: a minimal Node.js proxy that checks a bearer token with
// jose's jwtVerify (keys fetched once at start) and forwards to one instance over kept-alive
// connections. No routing, header hygiene, timeouts or policy: what the front door costs above
// this is Berth's own. Not product code.
//   node floor.mjs <listen port> <instance port> <issuer> <audience>
import { createServer, request, Agent } from 'node:http';
import { createLocalJWKSet, jwtVerify } from 'jose';

const [listen, upstream] = process.argv.slice(2, 4).map(Number);
const [issuer, audience] = process.argv.slice(4, 6);
const metadata = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
const keys = createLocalJWKSet(await (await fetch(metadata.jwks_uri)).json());
const agent = new Agent({ keepAlive: true, maxSockets: 256 });

createServer(async (req, res) => {
  const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
  try {
    await jwtVerify(token ?? '', keys, { issuer, audience, algorithms: ['RS256'] });
  } catch {
    res.writeHead(401, { 'content-length': 0 }).end();
    return;
  }
  const out = request(
    { host: '127.0.0.1', port: upstream, method: req.method, path: req.url, headers: req.headers, agent },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  out.on('error', () => res.writeHead(502).end());
  req.pipe(out);
}).listen(listen, '127.0.0.1');
