import { timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { IsthmusError } from '../../common/index.js';
import type { AnalyzeOptions } from '../../api/index.js';
import type { ConfigStore } from '../store/index.js';
import { handleAnalyze } from './handlers/analyze.js';
import { handleCaRoots, handleIssueCertificate, handleIssueToken, handleRotateRoot, handleServices } from './handlers/ca.js';
import { handleApply } from './handlers/apply.js';
import type { Handler, HandlerContext } from './handlers/context.js';
import { handleDelete } from './handlers/delete.js';
import { handleProxyConfig, handleProxyStatus, handleRefusedProxies } from './handlers/proxies.js';
import { handleResources } from './handlers/resources.js';
import { handleSecrets } from './handlers/secrets.js';
import { handleStatus } from './handlers/status.js';
import { HttpError, sendJson } from './http.js';
import { API_PREFIX } from './protocol.js';
import type { ManagementProviders } from './protocol.js';

export interface ManagementServerOptions {
  readonly store: ConfigStore;
  /** Loopback by default: the API changes the mesh's config. */
  readonly host?: string;
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  /** When set, every request must carry `Authorization: Bearer <token>`. */
  readonly token?: string;
  readonly providers?: ManagementProviders;
  readonly analyzeOptions?: () => AnalyzeOptions;
  readonly logger?: Logger;
}

export interface ManagementServer {
  /** http://host:port, to give to `isthmus --server`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Fills (or replaces) the extension points, e.g. once the xDS server is up. */
  provide(providers: ManagementProviders): void;
  close(): Promise<void>;
}

const ROUTES: Record<string, Partial<Record<string, Handler>>> = {
  [`${API_PREFIX}/apply`]: { POST: handleApply },
  [`${API_PREFIX}/delete`]: { POST: handleDelete },
  [`${API_PREFIX}/resources`]: { GET: handleResources },
  [`${API_PREFIX}/secrets`]: { POST: handleSecrets },
  [`${API_PREFIX}/analyze`]: { GET: handleAnalyze, POST: handleAnalyze },
  [`${API_PREFIX}/status`]: { GET: handleStatus },
  [`${API_PREFIX}/proxy-status`]: { GET: handleProxyStatus },
  [`${API_PREFIX}/proxy-status/refused`]: { GET: handleRefusedProxies },
  [`${API_PREFIX}/proxy-config`]: { GET: handleProxyConfig },
  [`${API_PREFIX}/ca/roots`]: { GET: handleCaRoots },
  [`${API_PREFIX}/ca/certificates`]: { POST: handleIssueCertificate },
  [`${API_PREFIX}/ca/tokens`]: { POST: handleIssueToken },
  [`${API_PREFIX}/ca/rotate-root`]: { POST: handleRotateRoot },
  [`${API_PREFIX}/services`]: { GET: handleServices },
};

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

function authorized(req: IncomingMessage, token: string | undefined): boolean {
  if (token === undefined) return true;
  const match = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
  const given = Buffer.from(match?.[1] ?? '');
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

async function route(context: HandlerContext, token: string | undefined, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://management');
  if (!authorized(req, token)) {
    throw new HttpError(401, 'ERR_UNAUTHORIZED', 'missing or wrong bearer token', 'pass the control plane token: isthmus config set-context NAME --server URL --token TOKEN (or ISTHMUS_TOKEN)');
  }
  const methods = ROUTES[url.pathname];
  if (!methods) throw new HttpError(404, 'ERR_NO_ROUTE', `no endpoint ${url.pathname}`, `the management API serves ${Object.keys(ROUTES).join(', ')}`);
  const handler = methods[req.method ?? 'GET'];
  if (!handler) {
    res.setHeader('allow', Object.keys(methods).join(', '));
    throw new HttpError(405, 'ERR_METHOD', `${req.method} is not allowed on ${url.pathname}`, `use ${Object.keys(methods).join(' or ')}`);
  }
  await handler(context, req, res, url.searchParams);
}

/** Serves the HTTP/JSON management API (apply, delete, get, secrets, analyze, proxy status/config) for one store. */
export async function startManagementServer(options: ManagementServerOptions): Promise<ManagementServer> {
  const host = options.host ?? '127.0.0.1';
  let providers: ManagementProviders = options.providers ?? {};
  const context: HandlerContext = {
    store: options.store,
    providers: () => providers,
    analyzeOptions: options.analyzeOptions ?? (() => ({})),
  };
  if (!LOOPBACK.has(host) && options.token === undefined) {
    options.logger?.warn({ host }, 'management API listens beyond loopback without a token: anyone who reaches it can change the config');
  }
  const server: Server = createServer((req, res) => {
    route(context, options.token, req, res).catch((err: unknown) => {
      if (err instanceof HttpError) return sendJson(res, err.status, err.body());
      options.logger?.error({ err, url: req.url }, 'management request failed');
      const hint = err instanceof IsthmusError ? err.hint : undefined;
      const body = { error: { code: err instanceof IsthmusError ? err.code : 'ERR_INTERNAL', message: err instanceof Error ? err.message : String(err), ...(hint ? { hint } : {}) } };
      if (res.headersSent) res.destroy();
      else sendJson(res, 500, body);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new IsthmusError('ERR_MANAGEMENT_LISTEN', `cannot listen on ${host}:${options.port ?? 0}: ${err.message}`, {
        hint: err.code === 'EADDRINUSE' ? 'another process uses that port: pick another port (0 picks a free one)' : 'check the address',
        cause: err,
      })));
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}`,
    host,
    port,
    provide: (next) => {
      providers = { ...providers, ...next };
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
