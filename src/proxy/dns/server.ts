/**
 * The proxy's DNS server (istio-agent's, for DNS_CAPTURE=true): UDP and TCP on the pod IP's port 15053
 * and on 127.0.0.1:<DNS_PORT>. Names of the control plane's table are answered here (A and AAAA from the
 * table, an empty NOERROR for other types of a known name); every other query is forwarded to the
 * upstream resolvers, and a SERVFAIL goes back when none answers in time.
 */
import { createSocket } from 'node:dgram';
import type { Socket as UdpSocket } from 'node:dgram';
import { createServer, isIP } from 'node:net';
import type { Server as TcpServer, Socket } from 'node:net';
import type { Logger } from 'pino';
import { forwardQuery, systemResolvers } from './upstream.js';
import type { UpstreamResolver } from './upstream.js';
import { addressData, buildAnswer, errorAnswer, MAX_UDP_ANSWER, parseQuery, RCODE, TYPE_A, TYPE_AAAA } from './wire.js';

/** Name (lower case, no trailing dot) -> addresses. */
export type DnsNameTable = Readonly<Record<string, readonly string[]>>;

export interface DnsBindAddress {
  readonly host: string;
  /** 0 picks a free port (tests). */
  readonly port: number;
  /** A port another proxy on the machine may hold already (127.0.0.1:15053): a failure is logged, not fatal. */
  readonly optional?: boolean;
}

export interface DnsServerOptions {
  readonly addresses: readonly DnsBindAddress[];
  /** Where unknown names go; default the host's resolvers (/etc/resolv.conf). */
  readonly upstreams?: readonly UpstreamResolver[];
  /** How long forwarding may take before the client gets SERVFAIL (default 5 s, istio-agent's). */
  readonly upstreamTimeoutMs?: number;
  /** TTL of answers from the table (default 30 s, istio-agent's). */
  readonly ttl?: number;
  readonly logger?: Logger;
}

export interface DnsServerStats {
  /** Queries answered from the table. */
  local: number;
  /** Queries forwarded and answered upstream. */
  forwarded: number;
  /** Queries answered SERVFAIL because no upstream answered. */
  failed: number;
}

const TCP_IDLE_MS = 30_000;

export class DnsProxyServer {
  private table: DnsNameTable = {};
  private readonly udp: UdpSocket[] = [];
  private readonly tcp: TcpServer[] = [];
  private readonly connections = new Set<Socket>();
  private readonly bound: Array<{ host: string; port: number }> = [];
  readonly stats: DnsServerStats = { local: 0, forwarded: 0, failed: 0 };
  private readonly upstreams: readonly UpstreamResolver[];

  constructor(private readonly options: DnsServerOptions) {
    // Never forward to ourselves (a resolv.conf naming this server would loop).
    const own = new Set(options.addresses.filter((a) => a.port !== 0).map((a) => `${a.host}:${a.port}`));
    this.upstreams = (options.upstreams ?? systemResolvers()).filter((u) => !own.has(`${u.host}:${u.port}`));
  }

  /** Replaces the name table (from LDS); queries in flight finish with the table they started with. */
  setTable(table: DnsNameTable): void {
    this.table = table;
  }

  get names(): number {
    return Object.keys(this.table).length;
  }

  /** Where it listens (UDP and TCP on the same port). */
  addresses(): ReadonlyArray<{ host: string; port: number }> {
    return this.bound;
  }

  async start(): Promise<void> {
    for (const address of this.options.addresses) {
      try {
        await this.listen(address);
      } catch (err) {
        if (!address.optional) {
          await this.close();
          throw new Error(`DNS server cannot listen on ${address.host}:${address.port}: ${(err as Error).message}`, { cause: err });
        }
        this.options.logger?.warn({ address: `${address.host}:${address.port}`, error: (err as Error).message }, 'DNS server not listening on this address (another proxy may hold it; set DNS_PORT)');
      }
    }
    this.options.logger?.info({ addresses: this.bound.map((a) => `${a.host}:${a.port}`), upstreams: this.upstreams.map((u) => `${u.host}:${u.port}`) }, 'DNS proxy listening (UDP and TCP)');
  }

  /**
   * Port 0: the kernel picks a free UDP port, which TCP may already use on that address (a client's
   * ephemeral port): then try another pick, a few times.
   */
  private async listen(address: DnsBindAddress): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.listenOnce(address);
      } catch (err) {
        if (address.port !== 0 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 5) throw err;
      }
    }
  }

  private async listenOnce(address: DnsBindAddress): Promise<void> {
    const udp = createSocket({ type: isIP(address.host) === 6 ? 'udp6' : 'udp4' });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(address.port, address.host, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    const port = udp.address().port;
    udp.on('error', (err) => this.options.logger?.warn({ err }, 'DNS UDP socket error'));
    udp.on('message', (message, from) => {
      void this.handle(message, 'udp').then((answer) => {
        if (answer) udp.send(answer, from.port, from.address);
      });
    });
    const tcp = createServer((socket) => this.onTcpConnection(socket));
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(port, address.host, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      udp.close();
      throw err;
    }
    this.udp.push(udp);
    this.tcp.push(tcp);
    this.bound.push({ host: address.host, port });
  }

  private onTcpConnection(socket: Socket): void {
    this.connections.add(socket);
    socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
    socket.on('close', () => this.connections.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const size = buffered.readUInt16BE(0);
        const message = buffered.subarray(2, 2 + size);
        buffered = buffered.subarray(2 + size);
        void this.handle(Buffer.from(message), 'tcp').then((answer) => {
          if (!answer || socket.destroyed) return;
          const length = Buffer.alloc(2);
          length.writeUInt16BE(answer.length, 0);
          socket.write(Buffer.concat([length, answer]));
        });
      }
    });
  }

  /** The answer to one message, or undefined when there is nothing to say (not even a header). */
  async handle(message: Buffer, transport: 'udp' | 'tcp'): Promise<Buffer | undefined> {
    // Too short to answer, or itself an answer (QR set): nothing to say.
    if (message.length < 12 || (message.readUInt16BE(2) & 0x8000) !== 0) return undefined;
    const query = parseQuery(message);
    const known = query ? this.table[query.question.name] : undefined;
    if (query && known) {
      this.stats.local += 1;
      const { type } = query.question;
      const records = type === TYPE_A || type === TYPE_AAAA ? known.flatMap((ip) => addressData(type, ip) ?? []) : [];
      return buildAnswer(query, { records, authoritative: true, ...(this.options.ttl !== undefined ? { ttl: this.options.ttl } : {}), ...(transport === 'udp' ? { maxSize: MAX_UDP_ANSWER } : {}) });
    }
    try {
      const answer = await forwardQuery(this.upstreams, message, transport, this.options.upstreamTimeoutMs ?? 5_000);
      this.stats.forwarded += 1;
      return answer;
    } catch (err) {
      this.stats.failed += 1;
      this.options.logger?.debug({ name: query?.question.name, error: (err as Error).message }, 'DNS forwarding failed: SERVFAIL');
      return query ? buildAnswer(query, { rcode: RCODE.SERVFAIL }) : errorAnswer(message, RCODE.SERVFAIL);
    }
  }

  async close(): Promise<void> {
    for (const socket of this.connections) socket.destroy();
    await Promise.all([
      ...this.udp.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
      ...this.tcp.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
    ]);
    this.udp.length = 0;
    this.tcp.length = 0;
    this.bound.length = 0;
  }
}
