// Format dictionaries: typed json_format (SubstitutionFormatString) and the legacy untyped one.
import { describe, expect, it } from 'vitest';
import { AccessLogConfigError, compileJsonFormat } from '../../../src/proxy/access-log/index.js';
import { httpEntry, tcpEntry } from './fixtures.js';

const ISTIO_JSON = {
  start_time: '%START_TIME%',
  method: '%REQ(:METHOD)%',
  path: '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%',
  protocol: '%PROTOCOL%',
  response_code: '%RESPONSE_CODE%',
  response_flags: '%RESPONSE_FLAGS%',
  bytes_received: '%BYTES_RECEIVED%',
  duration: '%DURATION%',
  upstream_service_time: '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%',
  upstream_cluster: '%UPSTREAM_CLUSTER%',
  connection_id: '%CONNECTION_ID%',
};

describe('json_format', () => {
  it('renders one JSON object per line, numbers as numbers and unset values as null', () => {
    const line = compileJsonFormat(ISTIO_JSON, { typed: true })(httpEntry());
    expect(line.endsWith('}\n')).toBe(true);
    expect(line.split('\n')).toHaveLength(2);
    expect(JSON.parse(line)).toStrictEqual({
      start_time: '2016-04-15T20:17:00.310Z',
      method: 'POST',
      path: '/api/v1/locations',
      protocol: 'HTTP/2',
      response_code: 204,
      response_flags: null,
      bytes_received: 154,
      duration: 226,
      upstream_service_time: '100',
      upstream_cluster: 'locations',
      connection_id: 42,
    });
  });

  it('keeps the configured key order', () => {
    const line = compileJsonFormat({ z: '%PROTOCOL%', a: '%RESPONSE_CODE%' }, { typed: true })(httpEntry());
    expect(line).toBe('{"z":"HTTP/2","a":204}\n');
    expect(compileJsonFormat({ z: '%PROTOCOL%', a: '%RESPONSE_CODE%' }, { typed: true, sortProperties: true })(httpEntry())).toBe('{"a":204,"z":"HTTP/2"}\n');
  });

  it('renders text around operators as a string with "-" for unset values', () => {
    const line = compileJsonFormat({ summary: '%REQ(:METHOD)% %RESPONSE_CODE% %RESPONSE_FLAGS%', fixed: 'isthmus' }, { typed: true })(httpEntry());
    expect(JSON.parse(line)).toStrictEqual({ summary: 'POST 204 -', fixed: 'isthmus' });
  });

  it('supports nested objects and lists', () => {
    const format = { request: { method: '%REQ(:METHOD)%', ids: ['%CONNECTION_ID%', '%REQ(X-REQUEST-ID):8%'] }, upstream: { host: '%UPSTREAM_HOST%' } };
    expect(JSON.parse(compileJsonFormat(format, { typed: true })(tcpEntry()))).toStrictEqual({
      request: { method: null, ids: [7, null] },
      upstream: { host: '10.0.0.2:443' },
    });
  });

  it('omits unset keys with omit_empty_values', () => {
    const line = compileJsonFormat({ code: '%RESPONSE_CODE%', protocol: '%PROTOCOL%', nested: { sni: '%REQUESTED_SERVER_NAME%' } }, { typed: true, omitEmptyValues: true })(tcpEntry());
    expect(JSON.parse(line)).toStrictEqual({ code: 0, nested: {} });
  });

  it('renders every value as a string, "-" when unset, in the legacy untyped form', () => {
    const line = compileJsonFormat({ code: '%RESPONSE_CODE%', protocol: '%PROTOCOL%', duration: '%DURATION%' }, { typed: false })(tcpEntry());
    expect(JSON.parse(line)).toStrictEqual({ code: '0', protocol: '-', duration: '5000' });
  });

  it('rejects an unknown operator inside the dictionary', () => {
    expect(() => compileJsonFormat({ a: { b: '%BOGUS%' } }, { typed: true })).toThrow(AccessLogConfigError);
    expect(() => compileJsonFormat({ a: { b: '%BOGUS%' } }, { typed: true })).toThrow(/%BOGUS%/);
  });
});
