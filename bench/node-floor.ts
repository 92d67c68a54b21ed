/**
 * The floor for any gateway written on Node.js on this machine: an HTTP/1.1 forwarder with as little
 * JavaScript as a request can take (raw net/tls sockets both sides, the head found with one indexOf,
 * Content-Length framing only, keep-alive upstream TLS with certificate verification). It routes nothing,
 * validates nothing and has no stats: a reference row for S1, not a proxy. Run by run.ts:
 *
 *   node node-floor.js --listen PORT [--server-tls cert,key,clientCa] --upstream PORT --upstream-ca FILE
 *                      --sni NAME --host HOST [--client-cert cert,key]
 */
import { createServer as createNetServer } from 'node:net';
import type { Socket } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls';
import { readFileSync } from 'node:fs';

const argv = process.argv.slice(2);
const opt = (name: string): string | undefined => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
const need = (name: string): string => opt(name) ?? (() => { throw new Error(`node-floor: ${name} is required`); })();
const files = (name: string): Buffer[] | undefined => opt(name)?.split(',').map((f) => readFileSync(f));

const listenPort = Number(need('--listen'));
const upstreamPort = Number(need('--upstream'));
const host = need('--host');
const clientCert = files('--client-cert');
const upstreamOptions = {
  host: '127.0.0.1', port: upstreamPort, servername: need('--sni'), ca: readFileSync(need('--upstream-ca')),
  ...(clientCert ? { cert: clientCert[0], key: clientCert[1] } : {}),
};

type Reply = (head: string, body: Buffer) => void;
interface Upstream { readonly socket: Socket; reply: Reply | undefined }
const idle: Upstream[] = [];

function upstream(): Upstream {
  const socket = tlsConnect(upstreamOptions);
  const up: Upstream = { socket, reply: undefined };
  let unparsed: Buffer | undefined;
  socket.setNoDelay(true);
  socket.on('error', () => undefined);
  socket.on('close', () => { const i = idle.indexOf(up); if (i >= 0) idle.splice(i, 1); });
  socket.on('data', (chunk: Buffer) => {
    const buf = unparsed ? Buffer.concat([unparsed, chunk]) : chunk;
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) return void (unparsed = buf);
    const head = buf.toString('latin1', 0, end);
    const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
    if (buf.length < end + 4 + length) return void (unparsed = buf);
    unparsed = undefined;
    const reply = up.reply;
    up.reply = undefined;
    idle.push(up);
    reply?.(head, buf.subarray(end + 4, end + 4 + length));
  });
  return up;
}

function onConnection(c: Socket): void {
  let unparsed: Buffer | undefined;
  c.setNoDelay(true);
  c.on('error', () => undefined);
  c.on('data', (chunk: Buffer) => {
    const buf = unparsed ? Buffer.concat([unparsed, chunk]) : chunk;
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) return void (unparsed = buf);
    unparsed = end + 4 < buf.length ? buf.subarray(end + 4) : undefined;
    const line = buf.toString('latin1', 0, buf.indexOf('\r\n'));
    const path = line.slice(line.indexOf(' ') + 1, line.lastIndexOf(' '));
    const up = idle.pop() ?? upstream();
    up.reply = (head, body) => {
      const status = head.slice(9, 12);
      c.cork();
      c.write(`HTTP/1.1 ${status} OK\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: ${body.length}\r\n\r\n`, 'latin1');
      c.write(body);
      c.uncork();
    };
    up.socket.write(`GET ${path} HTTP/1.1\r\nhost: ${host}\r\nx-forwarded-proto: http\r\n\r\n`, 'latin1');
  });
}

const serverTls = files('--server-tls');
const server = serverTls
  ? createTlsServer({ cert: serverTls[0], key: serverTls[1], ca: serverTls[2], requestCert: true, rejectUnauthorized: true }, onConnection)
  : createNetServer(onConnection);
server.listen(listenPort, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
