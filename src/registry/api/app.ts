import type { IncomingMessage, ServerResponse } from 'node:http';
import Fastify, { type FastifyInstance } from 'fastify';
import type { RegistryConfig } from '../../config/index.js';
import { silentLogger, type Logger } from '../../lib/logger.js';
import type { AccessControl } from '../access/index.js';
import type { MetadataStore } from '../meta/index.js';
import type { BlobStore } from '../store/index.js';
import { compileUrlPolicy } from '../manifest.js';
import { UploadService } from '../uploads.js';
import type { RegistryContext } from './context.js';
import { handleRegistryRequest } from './router.js';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/**
 * The Fastify app serving /v2/. The registry routes take the raw request in `onRequest` and hijack
 * the reply: bodies (blobs of any size) stream straight to storage without Fastify's body parsing,
 * and blob downloads pipe straight from storage to the socket.
 */
export function buildRegistryServer(options: {
  config: RegistryConfig;
  meta: MetadataStore;
  store: BlobStore;
  access: AccessControl;
  logger?: Logger;
}): FastifyInstance {
  const log = options.logger ?? silentLogger;
  const ctx: RegistryContext = {
    config: options.config,
    meta: options.meta,
    store: options.store,
    access: options.access,
    log,
    foreignUrls: compileUrlPolicy(options.config.validation.manifests.urls),
    uploads: new UploadService(options.store, options.meta, {
      maxBlobBytes: options.config.uploads.maxBlobBytes,
    }),
  };
  // No Fastify request logging: the registry's hot paths are hijacked and log their own failures.
  const app = Fastify({
    logger: false,
    exposeHeadRoutes: false,
    // Large uploads may take long; idle keep-alive sockets are closed on shutdown.
    requestTimeout: 0,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
  });
  const route = {
    method: [...METHODS],
    onRequest: async (request: { raw: IncomingMessage }, reply: { hijack(): void; raw: ServerResponse }) => {
      reply.hijack();
      await handleRegistryRequest(ctx, request.raw, reply.raw);
    },
    handler: async () => {},
  };
  app.route({ ...route, url: '/v2' });
  app.route({ ...route, url: '/v2/*' });
  options.access.routes?.(app);
  return app;
}
