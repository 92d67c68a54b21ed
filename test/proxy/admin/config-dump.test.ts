// buildConfigDump's shape and /config_dump's resource, mask and name_regex parameters, over real HTTP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TYPE_URL } from '../../../src/envoy/index.js';
import { redactSecrets } from '../../../src/proxy/admin/index.js';
import { BOOTSTRAP, fixtureDump, startFixtureAdmin } from './admin-fixture.js';
import type { RunningAdmin } from './admin-fixture.js';

const ADMIN = 'type.googleapis.com/envoy.admin.v3.';

describe('buildConfigDump', () => {
  const dump = fixtureDump();

  it('orders the configs as Envoy does: bootstrap, clusters, listeners, routes, secrets', () => {
    expect(dump.configs.map((c) => c['@type'])).toStrictEqual([
      `${ADMIN}BootstrapConfigDump`,
      `${ADMIN}ClustersConfigDump`,
      `${ADMIN}ListenersConfigDump`,
      `${ADMIN}RoutesConfigDump`,
      `${ADMIN}SecretsConfigDump`,
    ]);
    expect(dump.configs[0]).toStrictEqual({ '@type': `${ADMIN}BootstrapConfigDump`, bootstrap: BOOTSTRAP, last_updated: '2024-05-01T10:00:00Z' });
  });

  it('packs static resources as Anys with last_updated', () => {
    expect(dump.configs[1]).toStrictEqual({
      '@type': `${ADMIN}ClustersConfigDump`,
      static_clusters: [
        { cluster: { '@type': TYPE_URL.cluster, name: 'web', type: 'STATIC' }, last_updated: '2024-05-01T10:00:00Z' },
        { cluster: { '@type': TYPE_URL.cluster, name: 'api', type: 'STRICT_DNS' }, last_updated: '2024-05-01T10:00:00Z' },
      ],
      dynamic_active_clusters: [{ version_info: 'v3', cluster: { '@type': TYPE_URL.cluster, name: 'cds-backend', type: 'EDS' }, last_updated: '2024-05-01T10:00:00Z' }],
    });
    expect(dump.configs[3]).toStrictEqual({
      '@type': `${ADMIN}RoutesConfigDump`,
      static_route_configs: [{ route_config: { '@type': TYPE_URL.routeConfiguration, name: 'local_route', virtual_hosts: [{ name: 'all', domains: ['*'] }] }, last_updated: '2024-05-01T10:00:00Z' }],
    });
  });

  it('prints dynamic listeners with name and active_state, as Envoy does', () => {
    expect(dump.configs[2]).toStrictEqual({
      '@type': `${ADMIN}ListenersConfigDump`,
      version_info: 'v7',
      static_listeners: [{ listener: { '@type': TYPE_URL.listener, name: 'ingress', address: { socket_address: { address: '0.0.0.0', port_value: 8443 } } }, last_updated: '2024-05-01T10:00:00Z' }],
      dynamic_listeners: [
        {
          name: 'lds-http',
          active_state: {
            version_info: 'v7',
            listener: { '@type': TYPE_URL.listener, name: 'lds-http', address: { socket_address: { address: '0.0.0.0', port_value: 8080 } } },
            last_updated: '2024-05-01T10:05:00.250Z',
          },
        },
      ],
    });
  });

  it('prints static secrets with name and the secret as an Any; empty sections keep only @type', () => {
    const secrets = dump.configs[4] as unknown as { static_secrets: Array<Record<string, unknown>> };
    expect(secrets.static_secrets[0]).toMatchObject({ name: 'server-cert', last_updated: '2024-05-01T10:00:00Z', secret: { '@type': TYPE_URL.secret, name: 'server-cert' } });
  });

  it('redacts private keys and passwords, leaving other fields alone', () => {
    const redacted = redactSecrets({
      tls_certificate: { certificate_chain: { filename: '/c.pem' }, private_key: { inline_bytes: 'c2VjcmV0' }, password: { inline_string: 'hunter2' } },
      generic_secret: { secret: { inline_string: 'token' } },
    });
    expect(redacted).toStrictEqual({
      tls_certificate: { certificate_chain: { filename: '/c.pem' }, private_key: { inline_bytes: Buffer.from('[redacted]').toString('base64') }, password: { inline_string: '[redacted]' } },
      generic_secret: { secret: { inline_string: '[redacted]' } },
    });
  });
});

describe('/config_dump', () => {
  let fixture: RunningAdmin;
  beforeAll(async () => {
    fixture = await startFixtureAdmin();
  });
  afterAll(async () => {
    await fixture.admin.close();
  });

  const get = async (path: string) => {
    const res = await fetch(fixture.url(path));
    const text = await res.text();
    return { status: res.status, type: res.headers.get('content-type'), text, json: () => JSON.parse(text) as { configs: Array<Record<string, unknown>> } };
  };

  it('dumps all configs, with private keys redacted everywhere', async () => {
    const res = await get('/config_dump');
    expect(res.status).toBe(200);
    expect(res.type).toBe('application/json');
    const body = res.json();
    expect(body.configs).toHaveLength(5);
    expect(res.text).not.toContain('BEGIN PRIVATE KEY');
    const bootstrap = body.configs[0] as { bootstrap: typeof BOOTSTRAP };
    expect(bootstrap.bootstrap.static_resources.secrets[0]?.tls_certificate).toStrictEqual({
      certificate_chain: { filename: '/etc/certs/cert.pem' },
      private_key: { inline_string: '[redacted]' },
    });
    const secrets = body.configs[4] as { static_secrets: Array<{ secret: { tls_certificate: { private_key: unknown } } }> };
    expect(secrets.static_secrets[0]?.secret.tls_certificate.private_key).toStrictEqual({ inline_string: '[redacted]' });
  });

  it('?resource= returns the elements of one repeated field, each typed', async () => {
    const body = (await get('/config_dump?resource=dynamic_active_clusters')).json();
    expect(body).toStrictEqual({
      configs: [{ '@type': `${ADMIN}ClustersConfigDump.DynamicCluster`, version_info: 'v3', cluster: { '@type': TYPE_URL.cluster, name: 'cds-backend', type: 'EDS' }, last_updated: '2024-05-01T10:00:00Z' }],
    });
    const listeners = (await get('/config_dump?resource=static_listeners')).json();
    expect(listeners.configs.map((c) => c['@type'])).toStrictEqual([`${ADMIN}ListenersConfigDump.StaticListener`]);
    const secrets = await get('/config_dump?resource=static_secrets');
    expect(secrets.text).toContain('[redacted]');
    expect(secrets.text).not.toContain('BEGIN PRIVATE KEY');
  });

  it('?resource= with ?mask= trims each element, reaching into its resource', async () => {
    const body = (await get('/config_dump?resource=static_clusters&mask=cluster.name')).json();
    expect(body).toStrictEqual({
      configs: [
        { '@type': `${ADMIN}ClustersConfigDump.StaticCluster`, cluster: { '@type': TYPE_URL.cluster, name: 'web' } },
        { '@type': `${ADMIN}ClustersConfigDump.StaticCluster`, cluster: { '@type': TYPE_URL.cluster, name: 'api' } },
      ],
    });
    const dynamic = (await get('/config_dump?resource=dynamic_listeners&mask=name,active_state.version_info')).json();
    expect(dynamic.configs).toStrictEqual([{ '@type': `${ADMIN}ListenersConfigDump.DynamicListener`, name: 'lds-http', active_state: { version_info: 'v7' } }]);
  });

  it('?mask= applies to every config it fits and leaves out the others', async () => {
    const body = (await get('/config_dump?mask=bootstrap.node')).json();
    expect(body).toStrictEqual({ configs: [{ '@type': `${ADMIN}BootstrapConfigDump`, bootstrap: { node: BOOTSTRAP.node } }] });
    const versions = (await get('/config_dump?mask=version_info')).json();
    expect(versions.configs).toStrictEqual([{ '@type': `${ADMIN}ClustersConfigDump` }, { '@type': `${ADMIN}ListenersConfigDump`, version_info: 'v7' }]);
  });

  it('?name_regex= keeps resources whose whole name matches', async () => {
    const body = (await get('/config_dump?name_regex=a.*')).json();
    const clusters = body.configs[1] as { static_clusters: Array<{ cluster: { name: string } }>; dynamic_active_clusters?: unknown };
    expect(clusters.static_clusters.map((c) => c.cluster.name)).toStrictEqual(['api']);
    expect(clusters.dynamic_active_clusters).toBeUndefined();
    const listeners = (await get('/config_dump?resource=dynamic_listeners&name_regex=lds-.*')).json();
    expect(listeners.configs).toHaveLength(1);
    expect((await get('/config_dump?resource=dynamic_listeners&name_regex=lds')).json().configs).toHaveLength(0);
  });

  it('answers bad queries as Envoy does', async () => {
    const missing = await get('/config_dump?resource=no_such_field');
    expect([missing.status, missing.text]).toStrictEqual([404, 'no_such_field not found in config dump\n']);
    const scalar = await get('/config_dump?resource=version_info');
    expect([scalar.status, scalar.text]).toStrictEqual([400, 'version_info is not a repeated field. Use ?mask=version_info to get only this field\n']);
    const badMask = await get('/config_dump?mask=no_such_field');
    expect([badMask.status, badMask.text]).toStrictEqual([400, 'FieldMask no_such_field could not be successfully applied to any configs.\n']);
    // A mask may not go through a repeated field, nor into an Any other than the resource's own.
    expect((await get('/config_dump?mask=static_clusters.cluster')).status).toBe(400);
    expect((await get('/config_dump?resource=dynamic_listeners&mask=active_state.listener.name')).status).toBe(400);
    expect((await get('/config_dump?name_regex=(')).status).toBe(400);
    const eds = await get('/config_dump?include_eds');
    expect(eds.status).toBe(400);
    expect(eds.text).toMatch(/include_eds/);
  });
});
