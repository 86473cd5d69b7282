import { z } from 'zod';
import { durationSchema, listenSchema } from './common.js';

/** A router beyond the automatic `<site>.localhost` ones: a host and/or path prefix sent to a site. */
export const routerSchema = z
  .strictObject({
    host: z
      .string()
      .regex(/^[A-Za-z0-9.*-]+$/, 'must be a host name, optionally starting with *.')
      .optional(),
    pathPrefix: z
      .string()
      .regex(/^\/[^\s]*$/, 'must start with /')
      .optional(),
    site: z.string().min(1),
    slot: z.string().optional(),
    /** Remove pathPrefix before sending the request on. */
    stripPrefix: z.boolean().default(false),
  })
  .refine(
    (r) => r.host !== undefined || r.pathPrefix !== undefined,
    'a router needs a host, a pathPrefix or both',
  );

/** `frontdoor:` in berth.yaml: where sites are served. Owned by the frontdoor part. */
export const frontdoorSchema = z
  .strictObject({
    listen: listenSchema.default('127.0.0.1:8080'),
    routers: z.array(routerSchema).default([]),
    /** Connecting to an instance; past it the client gets 502 and another instance is tried. */
    connectTimeout: durationSchema.default(5_000),
    /** Waiting for an instance's response headers (App Service's 230 s request timeout); past it 504. */
    responseTimeout: durationSchema.default(230_000),
    /** A client or instance connection with no traffic for this long is closed. */
    idleTimeout: durationSchema.default(120_000),
    /** Sockets kept open to each instance between requests. */
    maxIdleSockets: z.number().int().min(0).max(10_000).default(256),
    /**
     * A request body that sends nothing for this long is given up (408, or the response is cut):
     * the time between two reads, as nginx's client_body_timeout, not the whole upload.
     */
    requestBodyTimeout: durationSchema.default(60_000).refine((ms) => ms >= 1, 'must be at least 1ms'),
    /**
     * Client connections at once (and, apart from them, as many sockets to instances). Unset: as
     * many as the process's descriptor limit leaves after a reserve for the registry, the console
     * and the logs (docs/frontdoor.md, "Connection limits"); a larger number is lowered to that.
     */
    maxConnections: z.number().int().min(1).max(1_000_000).optional(),
    /**
     * Plain proxied requests are read and answered without node:http's per-message objects (see
     * docs/frontdoor.md); false sends every request through node:http.
     */
    fastPath: z.boolean().default(true),
  })
  .prefault({});

export type FrontdoorConfig = z.infer<typeof frontdoorSchema>;
export type RouterConfig = z.infer<typeof routerSchema>;
