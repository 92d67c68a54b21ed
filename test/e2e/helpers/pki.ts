import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CertificateAuthority, writeWorkload } from '../../../src/pki/index.js';

export interface Workload {
  dir: string;
  cert: string;
  key: string;
  bundle: string;
}

/** The second seed's PKI: one root, a mesh intermediate and a VM intermediate with its own trust domain. */
export async function seedPki(dir: string) {
  const root = await CertificateAuthority.createRoot({ trustDomain: 'cluster.local' });
  const meshCa = await root.createIntermediate({ name: 'mesh-ca' });
  const vmCa = await root.createIntermediate({ name: 'vm-ca', trustDomain: 'vm.local' });
  const issue = async (ca: CertificateAuthority, name: string, spiffeId: string, dnsNames: string[] = []): Promise<Workload> => {
    const out = join(dir, name);
    mkdirSync(out, { recursive: true });
    const issued = await ca.issueWithNewKey({ spiffeId, dnsNames });
    await writeWorkload(out, issued, issued.keys.privateKey, [root.certificate]);
    return { dir: out, cert: join(out, 'cert.pem'), key: join(out, 'key.pem'), bundle: join(out, 'ca-cert.pem') };
  };
  return { root, meshCa, vmCa, issue };
}
