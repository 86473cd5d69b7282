import { ErrorCode } from './constants.js';

export type JsonRpcId = string | number;

export interface JsonRpcRequest {
  jsonrpc: '2.0';
  id: JsonRpcId;
  method: string;
  params?: Record<string, unknown>;
}

export interface JsonRpcNotification {
  jsonrpc: '2.0';
  method: string;
  params?: Record<string, unknown>;
}

/** A JSON-RPC error the client caused or must react to, with the HTTP status it travels with. */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly httpStatus = 200,
    readonly data?: unknown,
    /** HTTP headers for the answer (a WWW-Authenticate challenge). */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'RpcError';
  }
}

export type Incoming =
  | { kind: 'request'; message: JsonRpcRequest }
  | { kind: 'notification'; message: JsonRpcNotification }
  /** A JSON-RPC response posted by the client (legacy era); this server never asks, so it is dropped. */
  | { kind: 'response' };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks the envelope of one posted JSON value; every refusal names what is wrong. */
export function classifyMessage(value: unknown): Incoming {
  if (Array.isArray(value)) {
    throw new RpcError(
      ErrorCode.InvalidRequest,
      'JSON-RPC batches are not supported: MCP 2025-06-18 and later carry one message per POST',
      400,
    );
  }
  if (!isObject(value))
    throw new RpcError(ErrorCode.InvalidRequest, 'the body must be a JSON-RPC object', 400);
  if (value.jsonrpc !== '2.0') throw new RpcError(ErrorCode.InvalidRequest, '"jsonrpc" must be "2.0"', 400);
  if (value.method === undefined && ('result' in value || 'error' in value)) return { kind: 'response' };
  if (typeof value.method !== 'string' || value.method === '') {
    throw new RpcError(ErrorCode.InvalidRequest, '"method" must be a non-empty string', 400);
  }
  if (value.params !== undefined && !isObject(value.params)) {
    throw new RpcError(ErrorCode.InvalidRequest, '"params" must be an object when present', 400);
  }
  const params = value.params as Record<string, unknown> | undefined;
  if (!('id' in value))
    return { kind: 'notification', message: { jsonrpc: '2.0', method: value.method, params } };
  const id = value.id;
  if (!(typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id)))) {
    throw new RpcError(ErrorCode.InvalidRequest, '"id" must be a string or a number', 400);
  }
  return { kind: 'request', message: { jsonrpc: '2.0', id, method: value.method, params } };
}

export function resultMessage(id: JsonRpcId, result: unknown): string {
  return JSON.stringify({ jsonrpc: '2.0', id, result });
}

export function errorMessage(id: JsonRpcId | null, error: RpcError): string {
  const body: Record<string, unknown> = { code: error.code, message: error.message };
  if (error.data !== undefined) body.data = error.data;
  return JSON.stringify({ jsonrpc: '2.0', id, error: body });
}

export function notificationMessage(method: string, params?: Record<string, unknown>): string {
  return JSON.stringify(
    params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params },
  );
}

export { isObject };
