/**
 * Forwarding to the upstream resolvers (the host's /etc/resolv.conf, as istio-agent does): the client's
 * query bytes go out unchanged, over UDP or TCP as the client asked, to each resolver in turn until one
 * answers within its share of the timeout; the answer's bytes come back unchanged.
 */
import { createSocket } from 'node:dgram';
import { getServers } from 'node:dns';
import { isIP, connect } from 'node:net';
import { messageId } from './wire.js';

export interface UpstreamResolver {
  readonly host: string;
  readonly port: number;
}

/** "1.2.3.4", "1.2.3.4:5353", "::1", "[::1]:5353" (node:dns getServers() forms) -> host and port. */
export function parseResolver(text: string): UpstreamResolver | undefined {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed) return isIP(bracketed[1] as string) ? { host: bracketed[1] as string, port: Number(bracketed[2] ?? 53) } : undefined;
  if (isIP(text)) return { host: text, port: 53 };
  const hostPort = /^([^:]+):(\d+)$/.exec(text);
  if (hostPort && isIP(hostPort[1] as string)) return { host: hostPort[1] as string, port: Number(hostPort[2]) };
  return undefined;
}

/** The resolvers of /etc/resolv.conf, as node:dns read them at start-up. */
export function systemResolvers(): UpstreamResolver[] {
  return getServers().flatMap((s) => parseResolver(s) ?? []);
}

export class UpstreamTimeoutError extends Error {
  readonly code = 'ERR_DNS_UPSTREAM_TIMEOUT';
}

function viaUdp(resolver: UpstreamResolver, query: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIP(resolver.host) === 6 ? 'udp6' : 'udp4');
    const id = messageId(query);
    const done = (err: Error | undefined, answer?: Buffer) => {
      clearTimeout(timer);
      socket.close();
      if (err) reject(err);
      else resolve(answer as Buffer);
    };
    const timer = setTimeout(() => done(new UpstreamTimeoutError(`no answer from ${resolver.host}:${resolver.port} within ${timeoutMs} ms`)), timeoutMs);
    socket.on('error', (err) => done(err));
    // Only the resolver's answer to this id counts (a stray datagram on the ephemeral port does not).
    socket.on('message', (message, from) => {
      if (from.port === resolver.port && messageId(message) === id) done(undefined, message);
    });
    socket.send(query, resolver.port, resolver.host, (err) => {
      if (err) done(err);
    });
  });
}

function viaTcp(resolver: UpstreamResolver, query: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: resolver.host, port: resolver.port });
    let buffered = Buffer.alloc(0);
    const done = (err: Error | undefined, answer?: Buffer) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(answer as Buffer);
    };
    const timer = setTimeout(() => done(new UpstreamTimeoutError(`no answer from ${resolver.host}:${resolver.port} (TCP) within ${timeoutMs} ms`)), timeoutMs);
    socket.on('error', (err) => done(err));
    socket.on('connect', () => {
      const length = Buffer.alloc(2);
      length.writeUInt16BE(query.length, 0);
      socket.write(Buffer.concat([length, query]));
    });
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 2) return;
      const size = buffered.readUInt16BE(0);
      if (buffered.length >= 2 + size) done(undefined, buffered.subarray(2, 2 + size));
    });
    socket.on('end', () => done(new Error(`${resolver.host}:${resolver.port} closed the connection without an answer`)));
  });
}

/** The first answer of the resolvers, tried in order; rejects with the last error when none answers. */
export async function forwardQuery(resolvers: readonly UpstreamResolver[], query: Buffer, transport: 'udp' | 'tcp', timeoutMs: number): Promise<Buffer> {
  if (resolvers.length === 0) throw new Error('no upstream resolvers (none in /etc/resolv.conf)');
  const share = Math.max(250, Math.floor(timeoutMs / resolvers.length));
  let last: unknown;
  for (const resolver of resolvers) {
    try {
      return await (transport === 'udp' ? viaUdp(resolver, query, share) : viaTcp(resolver, query, share));
    } catch (err) {
      last = err;
    }
  }
  throw last instanceof Error ? last : new Error(String(last));
}
