import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { IsthmusError } from '../../common/index.js';
import { adminLogEntry } from './access-log.js';
import { dispatch } from './routes.js';
import type { AdminContext, AdminResponse, AdminServer, AdminServerOptions } from './types.js';

const CONTENT_TYPES: Record<AdminResponse['contentType'], string> = {
  text: 'text/plain; charset=UTF-8',
  json: 'application/json',
  prometheus: 'text/plain; version=0.0.4; charset=UTF-8',
};

function createContext(options: AdminServerOptions): AdminContext {
  return {
    options,
    startedAt: new Date(),
    healthCheckFailed: false,
    state() {
      let state = options.state?.() ?? (options.isReady() ? 'LIVE' : 'PRE_INITIALIZING');
      // isReady() gates LIVE; a failed health check turns LIVE into DRAINING, as in Envoy.
      if (state === 'LIVE' && !options.isReady()) state = 'INITIALIZING';
      if (state === 'LIVE' && this.healthCheckFailed) state = 'DRAINING';
      return state;
    },
  };
}

/**
 * Envoy's admin interface on node:http: /ready, /server_info, /config_dump, /clusters, /listeners,
 * /stats, /stats/prometheus, /healthcheck/{fail,ok}, /quitquitquit, /help. Bind it to localhost:
 * like Envoy's, it has no authentication and can stop the proxy.
 */
export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const context = createContext(options);
  const connectionIds = new WeakMap<Socket, number>();
  let nextConnectionId = 0;

  const respond = (req: IncomingMessage, res: ServerResponse): void => {
    const startTime = new Date();
    const startNs = process.hrtime.bigint();
    let bytesReceived = 0;
    req.on('data', (chunk: Buffer) => (bytesReceived += chunk.length));
    req.resume(); // admin endpoints take no body; drain it so keep-alive works

    // Match the raw path, as Envoy does (no URL resolution of "//x" or "..").
    const target = req.url ?? '/';
    const q = target.indexOf('?');
    const path = q < 0 ? target : target.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : target.slice(q + 1));
    const response = dispatch({ method: req.method ?? 'GET', path, query }, context);
    const body = Buffer.from(response.body);
    // setHeader (not writeHead's argument) so the access log can read them back.
    res.statusCode = response.status;
    res.setHeader('content-type', CONTENT_TYPES[response.contentType]);
    res.setHeader('content-length', body.length);
    res.setHeader('cache-control', 'no-cache, max-age=0');
    res.setHeader('x-content-type-options', 'nosniff');
    res.end(body);
    res.once('finish', () => {
      response.afterSend?.();
      options.accessLog?.log(
        adminLogEntry(req, res, {
          startTime,
          durationMs: Number((process.hrtime.bigint() - startNs) / 1_000_000n),
          bytesReceived,
          bytesSent: body.length,
          connectionId: connectionIds.get(req.socket) ?? 0,
        }),
      );
    });
  };

  const prepare = options.prepare;
  // Strict parsing even under NODE_OPTIONS=--insecure-http-parser, as on the listeners.
  const server = createServer({ insecureHTTPParser: false }, prepare
    ? (req, res) => void prepare((req.url ?? '/').split('?')[0] ?? '/').catch(() => undefined).then(() => respond(req, res))
    : respond);
  server.on('connection', (socket: Socket) => connectionIds.set(socket, ++nextConnectionId));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(new IsthmusError('ERR_ADMIN_LISTEN', `admin: cannot listen on ${options.host}:${options.port}: ${err.message}`, { hint: 'choose a free admin.address port, or 0 for any', cause: err })),
    );
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  let closing: Promise<void> | undefined;
  return {
    port,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // Keep-alive connections would otherwise hold the port until they time out.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
