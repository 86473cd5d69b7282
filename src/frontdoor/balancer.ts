import { randomBytes } from 'node:crypto';
import { HmacSigner } from '../lib/hmac.js';
import type { Instance } from '../sites/index.js';
import { InFlight } from './in-flight.js';

/**
 * Picks an instance for a request. Round-robin keeps a cursor per slot group; least-connections
 * takes the instance with the fewest requests in flight (ties go round-robin so load spreads).
 */
export class Balancer {
  /** Requests in flight per instance: what least-connections compares, and what draining waits on. */
  readonly inFlight = new InFlight();
  private cursors = new WeakMap<object, number>();
  private readonly signer = new HmacSigner(randomBytes(32));
  private tokens = new WeakMap<Instance, string>();

  pick(
    key: object,
    instances: Instance[],
    strategy: 'round-robin' | 'least-connections',
    exclude?: Instance,
  ): Instance | undefined {
    const candidates = exclude ? instances.filter((i) => i !== exclude) : instances;
    if (candidates.length === 0) return undefined;
    const cursor = this.cursors.get(key) ?? 0;
    this.cursors.set(key, cursor + 1);
    if (strategy === 'round-robin' || candidates.length === 1) return candidates[cursor % candidates.length];
    let best: Instance | undefined;
    for (let n = 0; n < candidates.length; n++) {
      const candidate = candidates[(cursor + n) % candidates.length]!;
      if (!best || this.inFlight.of(candidate) < this.inFlight.of(best)) best = candidate;
    }
    return best;
  }

  /** The ARRAffinity value of an instance: 64 hex characters that reveal nothing about it. */
  affinityToken(instance: Instance): string {
    let token = this.tokens.get(instance);
    if (!token) {
      token = this.signer.sign(instance.id, 'hex');
      this.tokens.set(instance, token);
    }
    return token;
  }

  byAffinity(instances: Instance[], token: string): Instance | undefined {
    return instances.find((i) => this.affinityToken(i) === token);
  }
}

/** Reads one cookie without parsing the whole header into an object. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
