// Fault app: imports a module it does not ship that Berth itself has (fastify). It must not start
// from Berth's node_modules: a site sees only its own package.
import Fastify from 'fastify';
await Fastify().listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
