// Fault app, CommonJS: requires a module it does not ship that Berth itself has (fastify).
// eslint-disable-next-line @typescript-eslint/no-require-imports, no-undef -- CommonJS on purpose
const Fastify = require('fastify');
Fastify().listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
