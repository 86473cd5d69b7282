// The instance behind both proxies in the benchmark: as small as an HTTP app gets, so the figures
// measure the proxies, not the app.
import { createServer } from 'node:http';
const body = Buffer.from('hello from berth\n');
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT), '127.0.0.1');
