/**
 * The admin interface listens on loopback only unless the operator allows otherwise: a bootstrap with
 * a non-loopback admin address is refused before any port opens, with the field and the way out named.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadBootstrapFile } from '../../../src/envoy/index.js';
import { ProxyServer } from '../../../src/proxy/index.js';
import { isLoopbackAddress } from '../../../src/proxy/admin/loopback.js';

describe('admin address: loopback only by default', () => {
  const dir = mkdtempSync(join(tmpdir(), 'isthmus-admin-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function bootstrapWithAdmin(address: string) {
    const file = join(dir, `${address.replace(/[^a-z0-9]/gi, '_')}.yaml`);
    writeFileSync(file, `node: { id: admin-test }\nadmin:\n  address:\n    socket_address: { address: "${address}", port_value: 0 }\n`);
    return loadBootstrapFile(file);
  }

  it.each([
    ['127.0.0.1', true], ['127.3.4.5', true], ['::1', true], ['::ffff:127.0.0.1', true], ['localhost', true],
    ['0.0.0.0', false], ['::', false], ['10.0.0.1', false], ['192.168.1.10', false], ['128.0.0.1', false], ['example.com', false],
  ])('%s is loopback: %s', (address, expected) => {
    expect(isLoopbackAddress(address)).toBe(expected);
  });

  it.each(['0.0.0.0', '::'])('admin on %s is refused, naming the field and the flag', async (address) => {
    await expect(ProxyServer.create(await bootstrapWithAdmin(address))).rejects.toThrow(
      new RegExp(`admin\\.address\\.socket_address\\.address: "${address.replace(/[.]/g, '\\.')}" is not a loopback address.*--admin-allow-non-loopback`),
    );
  });

  it('admin on loopback starts and answers', async () => {
    const proxy = await ProxyServer.create(await bootstrapWithAdmin('127.0.0.1'));
    await proxy.start();
    try {
      const res = await fetch(`http://127.0.0.1:${proxy.adminPort}/ready`);
      expect(res.status).toBe(200);
    } finally {
      await proxy.stop(0);
    }
  });

  it('with the explicit allowance the proxy starts on 0.0.0.0 and warns', async () => {
    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => warnings.push(line) });
    const proxy = await ProxyServer.create(await bootstrapWithAdmin('0.0.0.0'), { allowNonLoopbackAdmin: true, logger });
    await proxy.start();
    try {
      expect(warnings.some((w) => w.includes('is not a loopback address') && w.includes('reachable from the network'))).toBe(true);
      const res = await fetch(`http://127.0.0.1:${proxy.adminPort}/ready`);
      expect(res.status).toBe(200);
    } finally {
      await proxy.stop(0);
    }
  });
});
