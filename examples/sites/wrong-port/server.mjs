// Fault app: ignores PORT and listens on a hard-coded port (WRONG_PORT, 3000 by default).
import { createServer } from 'node:http';
const port = Number(process.env.WRONG_PORT ?? 3000);
createServer((_req, res) => res.end('hello')).listen(port, '127.0.0.1', () =>
  console.log(`listening on ${port}`),
);
