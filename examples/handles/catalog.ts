import { hostname } from 'node:os';
import { defineCatalog, InvalidToolCall, type CallContext, type ToolCatalog } from '../../src/mcp/index.js';
import { HandleError, HandleSigner } from './handles.js';

export interface HandlesSiteOptions {
  /** HMAC key shared by every instance: handles minted by one are accepted by all. */
  secret: string;
  /** Shown as served_by, so a client can see calls land on different instances. */
  instanceId?: string;
  /** Handle lifetime (ms, default 1 hour). */
  ttlMs?: number;
  now?: () => number;
}

interface Line {
  sku: string;
  quantity: number;
}

/**
 * The explicit-handle example site: a running tally and a shopping basket whose state lives only in
 * signed handles. Every call returns a new handle; the model passes the latest one back.
 */
export function handlesCatalog(options: HandlesSiteOptions): ToolCatalog {
  const signer = new HandleSigner(options.secret, options.ttlMs ?? 3_600_000, options.now);
  const servedBy = options.instanceId ?? `${hostname()}:${process.pid}`;
  const open = <S>(handle: unknown, kind: string, context: CallContext): S => {
    try {
      return signer.open<S>(handle, kind, context.caller);
    } catch (error) {
      if (error instanceof HandleError) throw new InvalidToolCall(error.message);
      throw error;
    }
  };
  const reply = (value: Record<string, unknown>) => ({
    content: [{ type: 'text' as const, text: JSON.stringify(value) }],
    structuredContent: { ...value, served_by: servedBy },
  });
  const handleArg = (kind: string) => ({
    type: 'string',
    description: `the ${kind} handle from the previous call`,
    minLength: 1,
  });

  return defineCatalog([
    {
      tool: {
        name: 'tally_start',
        description: 'Start a running tally at 0. Returns a tally handle: pass it to tally_add.',
        inputSchema: { type: 'object', properties: {}, additionalProperties: false },
      },
      run: (_args, context) => reply({ tally: signer.mint('tally', { total: 0 }, context.caller), total: 0 }),
    },
    {
      tool: {
        name: 'tally_add',
        description:
          'Add an amount to a tally. Returns the new total and a new tally handle (use it next time).',
        inputSchema: {
          type: 'object',
          properties: { tally: handleArg('tally'), amount: { type: 'number' } },
          required: ['tally', 'amount'],
          additionalProperties: false,
        },
      },
      run: (args, context) => {
        const { total } = open<{ total: number }>(args.tally, 'tally', context);
        const next = total + (args.amount as number);
        return reply({ tally: signer.mint('tally', { total: next }, context.caller), total: next });
      },
    },
    {
      tool: {
        name: 'basket_create',
        description: 'Create an empty basket. Returns a basket handle.',
        inputSchema: { type: 'object', properties: {}, additionalProperties: false },
      },
      run: (_args, context) =>
        reply({ basket: signer.mint<Line[]>('basket', [], context.caller), items: [] }),
    },
    {
      tool: {
        name: 'basket_add',
        description: 'Add a quantity of a SKU to a basket. Returns the items and a new basket handle.',
        inputSchema: {
          type: 'object',
          properties: {
            basket: handleArg('basket'),
            sku: { type: 'string', pattern: '^[A-Za-z0-9-]{1,32}$' },
            quantity: { type: 'integer', minimum: 1, maximum: 1000, default: 1 },
          },
          required: ['basket', 'sku'],
          additionalProperties: false,
        },
      },
      run: (args, context) => {
        const items = open<Line[]>(args.basket, 'basket', context);
        const sku = args.sku as string;
        const quantity = (args.quantity as number | undefined) ?? 1;
        const line = items.find((item) => item.sku === sku);
        if (line) line.quantity += quantity;
        else items.push({ sku, quantity });
        if (items.length > 100) throw new InvalidToolCall('a basket holds at most 100 different SKUs');
        return reply({ basket: signer.mint('basket', items, context.caller), items });
      },
    },
    {
      tool: {
        name: 'basket_view',
        description: 'List what is in a basket.',
        inputSchema: {
          type: 'object',
          properties: { basket: handleArg('basket') },
          required: ['basket'],
          additionalProperties: false,
        },
        annotations: { readOnlyHint: true, idempotentHint: true },
      },
      run: (args, context) => {
        const items = open<Line[]>(args.basket, 'basket', context);
        return reply({ items, count: items.reduce((sum, item) => sum + item.quantity, 0) });
      },
    },
  ]);
}
