/**
 * 421 Misdirected Request (RFC 9110 15.5.20, RFC 9113 9.1.2): a client that reuses a TLS connection made
 * for one name (SNI a.test) for another name its certificate also covers (:authority b.test, HTTP/2
 * connection coalescing) must not be routed by the filter chain its SNI chose. Envoy has no dedicated
 * field for this; a TLS listener asks for it in its configuration, as Contour generates: each filter chain
 * (matched by server_names) has a route configuration with a virtual host for its own names and a
 * catch-all virtual host whose route is `direct_response: { status: 421 }`. The client then retries on a
 * new connection, whose SNI picks the right chain. Tested with node:http2 and curl (--resolve, HTTP/2 and
 * HTTP/1.1), certificates from Isthmus' CA.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertificateAuthority, exportPrivateKeyPem, toPem } from '../../src/pki/index.js';
import { run } from '../helpers/index.js';
import { startH2Fixture } from './h2-fixture.js';
import type { H2Fixture } from './h2-fixture.js';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const TLS_CONTEXT = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
const TLS_INSPECTOR = 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector';
const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };

/** A filter chain for one server name: its own virtual host, and 421 for every other authority. */
function chainFor(name: string, certFile: string, keyFile: string): Record<string, unknown> {
  return {
    name,
    filter_chain_match: { server_names: [name] },
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': TLS_CONTEXT,
        common_tls_context: { alpn_protocols: ['h2', 'http/1.1'], tls_certificates: [{ certificate_chain: { filename: certFile }, private_key: { filename: keyFile } }] },
      },
    },
    filters: [{
      name: 'envoy.filters.network.http_connection_manager',
      typed_config: {
        '@type': HCM,
        stat_prefix: name,
        route_config: {
          name,
          ignore_port_in_host_matching: true,
          virtual_hosts: [
            { name, domains: [name], routes: [{ match: { prefix: '/' }, route: { cluster: 'app' }, response_headers_to_add: [{ header: { key: 'x-served-by', value: name } }] }] },
            { name: 'misdirected', domains: ['*'], routes: [{ match: { prefix: '/' }, direct_response: { status: 421, body: { inline_string: 'misdirected request' } } }] },
          ],
        },
        http_filters: [ROUTER],
      },
    }],
  };
}

describe('421 Misdirected Request on SNI-matched TLS filter chains', () => {
  let fx: H2Fixture;
  let dir: string;
  let caPem: string;
  let caFile: string;
  let port: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'isthmus-421-'));
    const ca = await CertificateAuthority.createRoot({ trustDomain: 'cluster.local' });
    // One certificate for both names: exactly what lets a browser coalesce their connections.
    const issued = await ca.issueWithNewKey({ spiffeId: 'spiffe://cluster.local/ns/edge/sa/gateway', dnsNames: ['a.test', 'b.test'] });
    const certFile = join(dir, 'cert.pem');
    const keyFile = join(dir, 'key.pem');
    caFile = join(dir, 'ca.pem');
    caPem = toPem([ca.certificate]);
    writeFileSync(certFile, toPem([issued.certificate]));
    writeFileSync(keyFile, await exportPrivateKeyPem(issued.keys.privateKey));
    writeFileSync(caFile, caPem);
    fx = await startH2Fixture([{
      name: 'https',
      listener: {
        listener_filters: [{ name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': TLS_INSPECTOR } }],
        filter_chains: [chainFor('a.test', certFile, keyFile), chainFor('b.test', certFile, keyFile)],
      },
    }]);
    port = fx.port('https');
  });
  afterAll(async () => {
    await fx?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function h2(servername: string, authorities: string[]): Promise<Array<{ status: number; servedBy: string | undefined; body: string }>> {
    const session = connect(`https://127.0.0.1:${port}`, { servername, ca: caPem });
    session.on('error', () => undefined);
    try {
      const out = [];
      for (const authority of authorities) {
        out.push(await new Promise<{ status: number; servedBy: string | undefined; body: string }>((resolve, reject) => {
          const req = session.request({ ':path': '/', ':authority': authority });
          let status = 0;
          let servedBy: string | undefined;
          let body = '';
          req.on('response', (h) => {
            status = Number(h[':status']);
            servedBy = h['x-served-by'] as string | undefined;
          });
          req.on('data', (d: Buffer) => (body += d.toString()));
          req.on('end', () => resolve({ status, servedBy, body }));
          req.on('error', reject);
          req.end();
        }));
      }
      return out;
    } finally {
      session.close();
    }
  }

  it('HTTP/2 coalescing: on the a.test connection, :authority b.test gets 421; a new b.test connection is served', async () => {
    const [own, coalesced] = await h2('a.test', ['a.test', 'b.test']);
    expect(own).toEqual({ status: 200, servedBy: 'a.test', body: 'ok' });
    expect(coalesced).toEqual({ status: 421, servedBy: undefined, body: 'misdirected request' });
    const [retried] = await h2('b.test', ['b.test']);
    expect(retried).toEqual({ status: 200, servedBy: 'b.test', body: 'ok' });
  });

  it('a port in :authority does not make the own name misdirected', async () => {
    const [withPort] = await h2('a.test', [`a.test:${port}`]);
    expect(withPort?.status).toBe(200);
  });

  it.each([['--http2'], ['--http1.1']])('curl %s with SNI a.test and Host b.test gets 421', async (version) => {
    const curl = (host?: string) => run('curl', [
      '-s', version, '--cacert', caFile, '--resolve', `a.test:${port}:127.0.0.1`,
      '-o', '/dev/null', '-w', '%{http_code}', ...(host ? ['-H', `Host: ${host}`] : []), `https://a.test:${port}/`,
    ]);
    expect((await curl()).stdout).toBe('200');
    expect((await curl('b.test')).stdout).toBe('421');
    expect((await curl('unknown.test')).stdout).toBe('421');
  });
});
