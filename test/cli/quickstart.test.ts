import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isthmus, openssl, tempDir } from '../helpers/index.js';

let work: { dir: string; cleanup: () => Promise<void> };

beforeAll(async () => {
  work = await tempDir('quickstart');
});
afterAll(async () => {
  await work?.cleanup();
});

describe('isthmus quickstart', () => {
  it('runs all steps, exits 0 and leaves files openssl accepts', async () => {
    const target = join(work.dir, 'qs');
    const r = await isthmus(['quickstart', '--dir', target]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    for (let step = 1; step <= 8; step++) expect(r.stdout).toMatch(new RegExp(`\\[${step}/8\\] .* ok \\(\\d+ ms\\)`));
    expect(r.stdout).toContain('hello spiffe://vm.local/vm/vm-1');
    expect(r.stdout).toMatch(/denied: trust domain "vm\.local"/);
    for (const f of ['root/root-cert.pem', 'mesh-ca/cert-chain.pem', 'vm-ca/ca-key.pem', 'frontend/cert.pem', 'vm/certs/key.pem', 'fortune-teller/cert.pem']) {
      expect(existsSync(join(target, f)), f).toBe(true);
    }
    // The openssl command the quickstart prints works as printed.
    const printed = /openssl (verify .*)/.exec(r.stdout)?.[1]?.split(' ');
    expect(printed).toBeDefined();
    const v = await openssl(printed as string[]);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    const ft = await openssl(['verify', '-CAfile', join(target, 'root/root-cert.pem'), '-untrusted', join(target, 'fortune-teller/cert.pem'), join(target, 'fortune-teller/cert.pem')]);
    expect(ft.code, ft.stdout + ft.stderr).toBe(0);
  });
});
