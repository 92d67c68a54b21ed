import { describe, expect, it } from 'vitest';
import { TYPE_URL } from '../../../src/envoy/index.js';
import { Debouncer, Snapshot, SnapshotCache, XdsError } from '../../../src/controlplane/xds/index.js';
import { assignment, edsCluster, meshSnapshot, rdsListener, routes, sleep } from './helpers.js';

const { cluster: CDS, clusterLoadAssignment: EDS, listener: LDS, routeConfiguration: RDS, secret: SDS } = TYPE_URL;

function thrown(fn: () => unknown): XdsError {
  try {
    fn();
  } catch (err) {
    if (err instanceof XdsError) return err;
    throw err;
  }
  throw new Error('expected an XdsError');
}

describe('Snapshot', () => {
  it('is consistent when every EDS and RDS name is there and used', () => {
    expect(meshSnapshot(1).consistent()).toEqual({ ok: true, problems: [] });
  });

  it('names what is missing or unused: endpoints, routes, SDS secrets over ADS', () => {
    const tlsCluster = edsCluster('tls', {
      eds_cluster_config: { eds_config: { ads: {} }, service_name: 'tls-endpoints' },
      transport_socket: {
        name: 'envoy.transport_sockets.tls',
        typed_config: {
          '@type': TYPE_URL.upstreamTlsContext,
          common_tls_context: {
            tls_certificate_sds_secret_configs: [{ name: 'client-cert', sds_config: { ads: {} } }],
            // Served by a local SDS agent, not by us: not a problem.
            validation_context_sds_secret_config: { name: 'ROOTCA', sds_config: { api_config_source: { api_type: 'GRPC', grpc_services: [{ envoy_grpc: { cluster_name: 'sds-grpc' } }] } } },
          },
        },
      },
    });
    const snapshot = new Snapshot({
      [CDS]: { resources: [edsCluster('a'), tlsCluster, { name: 'static', type: 'STATIC' }] },
      [EDS]: { resources: [assignment('a', 1), assignment('orphan', 2)] },
      [LDS]: { resources: [rdsListener('http', 80, 'missing-routes')] },
      [RDS]: { resources: [routes('unused-routes', 'a')] },
    });
    const result = snapshot.consistent();
    expect(result.ok).toBe(false);
    expect([...result.problems].sort()).toEqual([
      '"tls" needs secret "client-cert" (SDS over ADS), which the snapshot does not have',
      'cluster "tls" needs endpoints "tls-endpoints" (EDS), which the snapshot does not have',
      'endpoints "orphan" (EDS) are not used by any EDS cluster',
      'listener "http" needs routes "missing-routes" (RDS), which the snapshot does not have',
      'routes "unused-routes" (RDS) are not used by any listener',
    ]);
    const fixed = new Snapshot({
      [CDS]: { resources: [tlsCluster] },
      [EDS]: { resources: [assignment('tls-endpoints', 1)] },
      [SDS]: { resources: [{ name: 'client-cert', tls_certificate: { certificate_chain: { inline_string: 'x' }, private_key: { inline_string: 'y' } } }] },
    });
    expect(fixed.consistent().problems).toEqual([]);
  });

  it('refuses a resource the real proto does not accept, naming type, resource and field', () => {
    const err = thrown(() => new Snapshot({ [CDS]: { resources: [edsCluster('a', { conect_timeout: '1s' })] } }));
    expect(err.code).toBe('ERR_XDS_BAD_RESOURCE');
    expect(err.message).toContain('CDS resource "a": conect_timeout: unknown field');
    expect(thrown(() => new Snapshot({ [CDS]: { resources: [edsCluster('a'), edsCluster('a')] } })).message).toContain('appears twice');
    expect(thrown(() => new Snapshot({ [EDS]: { resources: [{ endpoints: [] }] } })).message).toContain('EDS resource #0 has no name');
  });

  it('derives versions from content when none is given', () => {
    const build = (timeout: string): Snapshot => new Snapshot({ [CDS]: { resources: [edsCluster('a', { connect_timeout: timeout })] } });
    expect(build('1s').version(CDS)).toBe(build('1s').version(CDS));
    expect(build('1s').version(CDS)).not.toBe(build('2s').version(CDS));
    expect(build('1s').version(LDS)).toBe(new Snapshot({}).version(LDS)); // empty is empty
    const a = build('1s').resources(CDS).get('a');
    expect(a?.version).toBe(build('1s').resources(CDS).get('a')?.version);
    expect(Object.isFrozen(a?.json)).toBe(true);
  });
});

describe('SnapshotCache', () => {
  it('notifies watchers once per burst with the latest snapshot, and never after unwatching', async () => {
    const cache = new SnapshotCache({ debounceMs: 50, maxDelayMs: 1000 });
    const seen: string[] = [];
    const stop = cache.watch('n', (s) => seen.push(s.version(CDS)));
    for (let i = 1; i <= 5; i++) cache.setSnapshot('n', meshSnapshot(i));
    expect(cache.getSnapshot('n')?.version(CDS)).toBe('v5'); // readable at once, pushed later
    await sleep(120);
    expect(seen).toEqual(['v5']);
    stop();
    cache.setSnapshot('n', meshSnapshot(6));
    await sleep(120);
    expect(seen).toEqual(['v5']);
    cache.close();
  });

  it('can refuse inconsistent snapshots and keep the previous one', () => {
    const cache = new SnapshotCache({ requireConsistent: true });
    cache.setSnapshot('n', meshSnapshot(1));
    const broken = new Snapshot({ [LDS]: { resources: [rdsListener('http', 80, 'nowhere')] } });
    expect(thrown(() => cache.setSnapshot('n', broken)).code).toBe('ERR_XDS_INCONSISTENT_SNAPSHOT');
    expect(cache.getSnapshot('n')?.version(CDS)).toBe('v1');
    cache.close();
  });
});

describe('Debouncer', () => {
  it('fires after a quiet period, but no later than the maximum delay under steady triggers', async () => {
    const fired: number[] = [];
    const start = Date.now();
    const debouncer = new Debouncer(100, 300, () => fired.push(Date.now() - start));
    const ticker = setInterval(() => debouncer.trigger(), 20);
    await sleep(700);
    clearInterval(ticker);
    await sleep(150);
    // Steady triggers every 20 ms never leave 100 ms of quiet: only the 300 ms cap makes it fire.
    expect(fired.length).toBeGreaterThanOrEqual(2);
    expect(fired[0]).toBeGreaterThanOrEqual(280);
    expect(fired[0]).toBeLessThan(600); // timers run late on a busy machine, never early
    debouncer.cancel();
  });
});
