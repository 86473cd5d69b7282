import fc from 'fast-check';
import { requestStream } from './request-bytes.js';
import { divergence, startReaders } from './request-differential.js';
import { responseCase } from './response-bytes.js';
import { ourReading, responseDivergence, startNodeReader } from './response-differential.js';

export interface FuzzOptions {
  runs: number;
  seed?: number;
}

/** What a run covered, to print (and to check the generators still reach the code under test). */
export interface FuzzReport {
  runs: number;
  /** Requests the fast path read itself (the rest went to node:http). */
  fastPathRequests: number;
  /** Responses the front door's parser accepted (the rest it refused, as node did). */
  acceptedResponses: number;
}

/**
 * The fast path against node:http on the same client bytes (issue 11, item 8): the same requests
 * with the same bodies and header lists, the same refusals. Throws fast-check's report (seed and
 * shrunk counterexample) on a divergence.
 */
export async function fuzzRequests({ runs, seed }: FuzzOptions): Promise<FuzzReport> {
  const readers = await startReaders();
  let fastPathRequests = 0;
  try {
    await fc.assert(
      fc.asyncProperty(requestStream, async (bytes) => {
        const node = await readers.node(bytes);
        const fast = await readers.fast(bytes);
        fastPathRequests += fast.fast;
        const found = divergence(node, fast);
        if (found) throw new Error(`${found}\n  bytes ${JSON.stringify(bytes.toString('latin1'))}`);
      }),
      { numRuns: runs, seed, includeErrorInReport: true },
    );
  } finally {
    await readers.close();
  }
  return { runs, fastPathRequests, acceptedResponses: 0 };
}

/** The upstream response parser against node's http client (llhttp) on the same instance bytes. */
export async function fuzzResponses({ runs, seed }: FuzzOptions): Promise<FuzzReport> {
  const reader = await startNodeReader();
  let acceptedResponses = 0;
  try {
    await fc.assert(
      fc.asyncProperty(responseCase, async (c) => {
        const ours = ourReading(c);
        // Bytes after the message: the proxy drops that connection, so the message is what must agree.
        const node = await reader.read(
          ours.messageEnd === undefined ? c : { ...c, bytes: c.bytes.subarray(0, ours.messageEnd) },
        );
        if (ours.accepted) acceptedResponses++;
        const found = responseDivergence(ours, node);
        if (found)
          throw new Error(
            `${found}\n  bytes ${JSON.stringify(c.bytes.toString('latin1'))} (HEAD: ${c.head})`,
          );
      }),
      { numRuns: runs, seed, includeErrorInReport: true },
    );
  } finally {
    await reader.close();
  }
  return { runs, fastPathRequests: 0, acceptedResponses };
}
