/** Small pieces of the simulated networks: free ports, rendered manifests, an HTTPS server. */
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { Server as HttpsServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createNetServer } from 'node:net';

/** A free TCP port on `host`, released before it is returned (the caller binds it right away). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A manifest with ${NAME} replaced as a shell heredoc would: the seed's way of filling in addresses. */
export function renderManifest(path: string, vars: Readonly<Record<string, string | number>>): string {
  return readFileSync(path, 'utf8').replace(/\$\{([A-Z0-9_]+)\}/g, (whole, name: string) => {
    const value = vars[name];
    if (value === undefined) throw new Error(`${path}: \${${name}} is not set`);
    return String(value);
  });
}

export async function listenHttps(host: string, port: number, tls: { cert: string; key: string }, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<HttpsServer> {
  const server = createHttpsServer({ cert: tls.cert, key: tls.key }, handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return server;
}
