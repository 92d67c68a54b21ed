/** VirtualService http routes on a sidecar: matches, subsets, weights, rewrite, timeout, retries, headers. */
import { describe, expect, it } from 'vitest';
import { checkConsistency, routeRows, translate } from '../../../src/controlplane/translate/index.js';
import { loadFixture, productpage, shopServices } from './fixtures.js';

const result = translate(loadFixture('features.yaml'), productpage, { meshServices: shopServices });
const route = result.routes.find((r) => r.name === '9080');
const reviews = route?.virtual_hosts?.find((v) => v.name === 'reviews.shop.svc.cluster.local:9080');
const routes = reviews?.routes ?? [];

describe('VirtualService on a sidecar', () => {
  it('gives the service its Kubernetes names (short ones in its own namespace) with and without the port', () => {
    expect(reviews?.domains).toEqual([
      'reviews.shop.svc.cluster.local',
      'reviews.shop.svc.cluster.local:9080',
      'reviews.shop.svc',
      'reviews.shop.svc:9080',
      'reviews.shop',
      'reviews.shop:9080',
      'reviews',
      'reviews:9080',
    ]);
    expect(routeRows(result.routes).filter((r) => r.name === '9080').map((r) => [r.domains, r.match, r.virtualService])).toEqual([
      ['ratings.shop, ratings', '/*', ''],
      ['reviews.shop, reviews', '/*', 'reviews.shop'],
      ['reviews.shop, reviews', '/legacy*', 'reviews.shop'],
      ['reviews.shop, reviews', 'regex ^/tea/.*', 'reviews.shop'],
      ['reviews.shop, reviews', '/*', 'reviews.shop'],
    ]);
  });

  it('translates a header match, a subset, request header changes, timeout and retries', () => {
    const jason = routes[0];
    expect(jason?.name).toBe('jason');
    expect(jason?.match).toEqual({ prefix: '/', case_sensitive: true, headers: [{ name: 'end-user', string_match: { exact: 'jason' } }] });
    expect(jason?.request_headers_to_add).toEqual([{ header: { key: 'x-canary', value: 'true' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }]);
    expect(jason?.request_headers_to_remove).toEqual(['x-debug']);
    expect(jason?.route).toEqual({
      timeout: '5s',
      cluster: 'outbound|9080|v2|reviews.shop.svc.cluster.local',
      retry_policy: {
        retry_on: '5xx,connect-failure,retriable-status-codes',
        num_retries: 3,
        retriable_status_codes: [503],
        host_selection_retry_max_attempts: 5,
        per_try_timeout: '2s',
      },
    });
  });

  it('rewrites the path prefix and the authority', () => {
    const legacy = routes[1];
    expect(legacy?.match).toEqual({ prefix: '/legacy', case_sensitive: true });
    expect(legacy?.route?.prefix_rewrite).toBe('/v1');
    expect(legacy?.route?.host_rewrite_literal).toBe('reviews.internal');
    expect(legacy?.route?.cluster).toBe('outbound|9080|v1|reviews.shop.svc.cluster.local');
    // No retries in the rule: Istio's default policy.
    expect(legacy?.route?.retry_policy?.num_retries).toBe(2);
  });

  it('answers directly for a regex match', () => {
    expect(routes[2]?.match).toEqual({ safe_regex: { regex: '^/tea/.*' }, case_sensitive: true });
    expect(routes[2]?.direct_response).toEqual({ status: 418, body: { inline_string: 'short and stout' } });
  });

  it('splits traffic by weight; attempts: 0 disables retries', () => {
    const split = routes[3];
    expect(split?.match).toEqual({ prefix: '/' });
    expect(split?.route?.weighted_clusters).toEqual({
      clusters: [
        { name: 'outbound|9080|v1|reviews.shop.svc.cluster.local', weight: 75 },
        { name: 'outbound|9080|v2|reviews.shop.svc.cluster.local', weight: 25 },
      ],
    });
    expect(split?.route?.retry_policy).toBeUndefined();
  });

  it('routes services without a VirtualService to their default cluster', () => {
    const ratings = route?.virtual_hosts?.find((v) => v.name === 'ratings.shop.svc.cluster.local:9080');
    expect(ratings?.routes?.[0]?.route?.cluster).toBe('outbound|9080||ratings.shop.svc.cluster.local');
  });

  it('is consistent, routed clusters included', () => {
    expect(checkConsistency(result, { routeClusters: true })).toEqual([]);
  });
});
