import { getGlobalDispatcher, type Dispatcher } from 'undici';
import type { UpstreamRequest } from './request.js';

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** Why a request produced no response the caller can use (not a cancellation: that rethrows). */
export class UpstreamFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UpstreamFailure';
  }
}

export interface SendOptions {
  timeoutMs: number;
  maxResponseBytes: number;
  /** The caller's cancellation: when it fires the request is aborted and its reason is thrown. */
  signal: AbortSignal;
  dispatcher?: Dispatcher;
}

/**
 * Sends one request with undici's dispatcher API (the path goes out byte for byte), under a deadline
 * that covers the whole exchange, reading at most maxResponseBytes of the body.
 */
export async function send(request: UpstreamRequest, options: SendOptions): Promise<UpstreamResponse> {
  options.signal.throwIfAborted();
  const deadline = AbortSignal.timeout(options.timeoutMs);
  const signal = AbortSignal.any([options.signal, deadline]);
  const dispatcher = options.dispatcher ?? getGlobalDispatcher();
  try {
    const response = await dispatcher.request({
      origin: request.origin,
      path: request.path,
      method: request.method as Dispatcher.HttpMethod,
      headers: request.headers,
      body: request.body,
      signal,
    });
    const declared = Number(response.headers['content-length'] ?? 0);
    if (declared > options.maxResponseBytes) {
      discard(response.body);
      throw new UpstreamFailure(
        `the upstream response is ${declared} bytes, over the ${options.maxResponseBytes}-byte limit`,
      );
    }
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of response.body) {
      total += (chunk as Buffer).length;
      if (total > options.maxResponseBytes) {
        discard(response.body);
        throw new UpstreamFailure(
          `the upstream response exceeded the ${options.maxResponseBytes}-byte limit`,
        );
      }
      chunks.push(chunk as Buffer);
    }
    return { status: response.statusCode, headers: response.headers, body: Buffer.concat(chunks) };
  } catch (error) {
    if (options.signal.aborted) throw options.signal.reason ?? error;
    if (error instanceof UpstreamFailure) throw error;
    if (deadline.aborted)
      throw new UpstreamFailure(`the upstream did not answer within ${options.timeoutMs} ms`);
    const code = (error as { code?: string }).code;
    throw new UpstreamFailure(
      `the upstream request failed: ${code ? `${code} ` : ''}${(error as Error).message}`,
    );
  }
}

/** Stops reading a body we will not use. undici reports the early close as an error event: swallow it. */
function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => {});
  body.destroy();
}
