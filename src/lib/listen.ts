/** A `host:port` listen address. IPv6 hosts are written in brackets: `[::1]:8080`. */
export interface ListenAddress {
  host: string;
  port: number;
}

export const LOOPBACK = '127.0.0.1';

export function parseListen(value: string): ListenAddress {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]*)):(\d{1,5})$/.exec(value.trim());
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) {
    throw new Error(`expected host:port (for example 127.0.0.1:8080 or [::1]:8080), got "${value}"`);
  }
  const host = match[1] ?? match[2] ?? '';
  return { host: host === '' ? LOOPBACK : host, port };
}

export function formatListen({ host, port }: ListenAddress): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The URL a client uses to reach a server bound to `address` (0.0.0.0 is reached on loopback). */
export function urlFor(address: ListenAddress, path = '/', scheme = 'http'): string {
  const host = address.host === '0.0.0.0' ? LOOPBACK : address.host === '::' ? '::1' : address.host;
  return `${scheme}://${formatListen({ host, port: address.port })}${path}`;
}

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1 and localhost. */
export function isLoopbackHost(host: string): boolean {
  const name = host.replace(/^\[|\]$/g, '').toLowerCase();
  return name === 'localhost' || name === '::1' || /^127(?:\.\d{1,3}){3}$/.test(name);
}

/** The host name of a Host header, lowercased, without its port: "[::1]:8080" → "[::1]", "Api.Example:80" → "api.example". */
export function hostNameOf(hostHeader: string): string {
  const lower = hostHeader.toLowerCase();
  return lower.startsWith('[') ? lower.slice(0, lower.indexOf(']') + 1) : (lower.split(':')[0] ?? '');
}
