// Istio's Gateway rules: each failing case names the exact field; the valid neighbours pass.
import { describe, expect, test } from 'vitest';
import { errorLines, expectOnlyError, load, net } from './helpers.js';

type Server = Record<string, unknown>;
const https = (tls: unknown): Server => ({ port: { number: 443, name: 'https', protocol: 'HTTPS' }, hosts: ['app.example.com'], tls });
const gateway = (...servers: Server[]) => net('Gateway', { selector: { istio: 'ingressgateway' }, servers }, 'gw', 'edge');

describe('Gateway validation', () => {
  test('valid servers pass: SIMPLE with credentialName, MUTUAL with files, HTTP with httpsRedirect, TLS AUTO_PASSTHROUGH', () => {
    const result = load(
      gateway(
        https({ mode: 'SIMPLE', credentialName: 'app-cert' }),
        { ...https({ mode: 'MUTUAL', serverCertificate: '/c.pem', privateKey: '/k.pem', caCertificates: '/ca.pem' }), port: { number: 8443, name: 'https-files', protocol: 'HTTPS' } },
        { port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['edge/app.example.com'], tls: { httpsRedirect: true } },
        { port: { number: 15443, name: 'tls', protocol: 'TLS' }, hosts: ['*'], tls: { mode: 'AUTO_PASSTHROUGH' } },
      ),
    );
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([]);
    expect(result.resources).toHaveLength(1);
  });

  test('a gateway needs servers', () => {
    expectOnlyError(load(net('Gateway', { servers: [] }, 'gw')), 'spec.servers', 'gateway must have at least one server');
  });

  test('a server needs hosts', () => {
    expectOnlyError(load(gateway({ ...https({ mode: 'SIMPLE', credentialName: 'c' }), hosts: [] })), 'spec.servers[0].hosts', 'server config must contain at least one host');
  });

  test('server hosts must be FQDNs, "*" or namespace/host', () => {
    expectOnlyError(load(gateway({ ...https({ mode: 'SIMPLE', credentialName: 'c' }), hosts: ['ok.example.com', 'app'] })), 'spec.servers[0].hosts[1]', 'short names (non FQDN) are not allowed');
    expectOnlyError(load(gateway({ ...https({ mode: 'SIMPLE', credentialName: 'c' }), hosts: ['Bad_NS/app.example.com'] })), 'spec.servers[0].hosts[0]', 'invalid namespace value "Bad_NS"');
  });

  test('a server needs a port with name, number and a known protocol', () => {
    expectOnlyError(load(gateway({ hosts: ['*'] })), 'spec.servers[0].port', 'port is required');
    expectOnlyError(load(gateway({ port: { number: 80, protocol: 'HTTP' }, hosts: ['*'] })), 'spec.servers[0].port.name', 'port name must be set');
    expectOnlyError(load(gateway({ port: { number: 70000, name: 'http', protocol: 'HTTP' }, hosts: ['*'] })), 'spec.servers[0].port.number', 'port number 70000 must be in the range 1..65535');
    const missingNumber = load(gateway({ port: { name: 'http', protocol: 'HTTP' }, hosts: ['*'] }));
    expect(errorLines(missingNumber)).toEqual(['spec.servers[0].port.number: port number is required']);
    const bad = expectOnlyError(load(gateway({ port: { number: 80, name: 'http', protocol: 'HTTP3' }, hosts: ['*'] })), 'spec.servers[0].port.protocol', 'unsupported protocol "HTTP3"');
    expect(bad.fix).toContain('HTTPS');
  });

  test('port names are unique across servers', () => {
    const result = load(gateway(https({ mode: 'SIMPLE', credentialName: 'a' }), { ...https({ mode: 'SIMPLE', credentialName: 'b' }), port: { number: 8443, name: 'https', protocol: 'HTTPS' } }));
    expectOnlyError(result, 'spec.servers[1].port.name', 'port names in servers must be unique: duplicate name https');
  });

  test('SIMPLE needs credentialName or serverCertificate and privateKey', () => {
    expect(errorLines(load(gateway(https({ mode: 'SIMPLE' }))))).toEqual([
      'spec.servers[0].tls.serverCertificate: SIMPLE TLS requires a server certificate',
      'spec.servers[0].tls.privateKey: SIMPLE TLS requires a private key',
    ]);
    expectOnlyError(load(gateway(https({ mode: 'SIMPLE', serverCertificate: '/c.pem' }))), 'spec.servers[0].tls.privateKey', 'SIMPLE TLS requires a private key');
  });

  test('MUTUAL without credentialName also needs the client CA bundle', () => {
    expectOnlyError(load(gateway(https({ mode: 'MUTUAL', serverCertificate: '/c.pem', privateKey: '/k.pem' }))), 'spec.servers[0].tls.caCertificates', 'MUTUAL TLS requires a client CA bundle');
  });

  test('ISTIO_MUTUAL cannot carry certificates', () => {
    expectOnlyError(load(gateway(https({ mode: 'ISTIO_MUTUAL', credentialName: 'x' }))), 'spec.servers[0].tls.credentialName', 'ISTIO_MUTUAL TLS cannot have associated credentialName');
  });

  test('AUTO_PASSTHROUGH only with protocol TLS', () => {
    const result = load(gateway({ port: { number: 443, name: 'https', protocol: 'HTTPS' }, hosts: ['*'], tls: { mode: 'AUTO_PASSTHROUGH' } }));
    const e = expectOnlyError(result, 'spec.servers[0].tls.mode', 'AUTO_PASSTHROUGH is only supported with protocol TLS, not HTTPS');
    expect(e.fix).toBe('set port.protocol to TLS');
  });

  test('HTTPS/TLS servers need tls; plain HTTP and TCP servers cannot have certificates', () => {
    expectOnlyError(load(gateway({ port: { number: 443, name: 'tls', protocol: 'TLS' }, hosts: ['*'] })), 'spec.servers[0].tls', 'server must have TLS settings for HTTPS/TLS protocols');
    expectOnlyError(load(gateway({ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['*'], tls: { mode: 'SIMPLE', credentialName: 'c' } })), 'spec.servers[0].tls', 'server cannot have TLS settings for plain text HTTP ports');
    expectOnlyError(load(gateway({ port: { number: 9000, name: 'tcp', protocol: 'TCP' }, hosts: ['*'], tls: { mode: 'PASSTHROUGH' } })), 'spec.servers[0].tls', 'server cannot have TLS settings for non HTTPS/TLS ports');
  });

  test('the gateway name must be a DNS label (no dots) and selectors cannot use wildcards', () => {
    expectOnlyError(load(net('Gateway', { servers: [https({ mode: 'SIMPLE', credentialName: 'c' })] }, 'my.gateway')), 'metadata.name', 'invalid gateway name: "my.gateway"');
    expectOnlyError(load(net('Gateway', { selector: { app: 'gw-*' }, servers: [https({ mode: 'SIMPLE', credentialName: 'c' })] }, 'gw')), 'spec.selector.app', 'wildcard is not supported in selector');
  });

  test('credentialName together with certificate files is accepted with a warning', () => {
    const result = load(gateway(https({ mode: 'SIMPLE', credentialName: 'c', serverCertificate: '/c.pem', privateKey: '/k.pem' })));
    expect(result.errors).toEqual([]);
    expect(result.resources).toHaveLength(1);
    expect(result.warnings.map((w) => `${w.path}: ${w.message}`)).toEqual(['spec.servers[0].tls.credentialName: credentialName is set, so serverCertificate/privateKey/caCertificates are ignored']);
  });
});
