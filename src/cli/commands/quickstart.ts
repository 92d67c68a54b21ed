import { rm } from 'node:fs/promises';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { connect, createServer } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import type { Command } from 'commander';
import { formatTable } from '../../common/index.js';
import {
  CertificateAuthority, IstioCaServer, WORKLOAD_FILES, issueBootstrapToken, parseCertificates, requestCertificate, toPem,
  verifyPeerChain, writePluginCa, writeRootCa, writeWorkload,
} from '../../pki/index.js';
import type { Certificate } from '../../pki/index.js';
import { action } from '../action.js';

/** Prints "[n/N] title ... ok (12 ms)" around each step, so long work shows progress. */
function stepper(total: number) {
  let n = 0;
  return async <T>(title: string, fn: () => Promise<T>): Promise<T> => {
    n += 1;
    process.stdout.write(`[${n}/${total}] ${title} ... `);
    const started = performance.now();
    try {
      const result = await fn();
      process.stdout.write(`ok (${Math.round(performance.now() - started)} ms)\n`);
      return result;
    } catch (err) {
      process.stdout.write('FAILED\n');
      throw err;
    }
  };
}

interface Workload { certPem: string; keyPem: string; bundlePem: string }

async function readWorkload(dir: string): Promise<Workload> {
  const [certPem, keyPem, bundlePem] = await Promise.all(
    [WORKLOAD_FILES.cert, WORKLOAD_FILES.key, WORKLOAD_FILES.bundle].map((f) => readFile(join(dir, f), 'utf8')),
  );
  return { certPem: certPem as string, keyPem: keyPem as string, bundlePem: bundlePem as string };
}

/**
 * One mutual-TLS handshake between a server and a client workload on loopback. The server checks the
 * client's X509-SVID the way a sidecar does, accepting the extra trust domains given.
 */
async function mutualTls(server: Workload, client: Workload, acceptTrustDomains: string[]): Promise<string> {
  const roots = parseCertificates(server.bundlePem);
  const tlsServer = createServer({ cert: server.certPem, key: server.keyPem, ca: server.bundlePem, requestCert: true, rejectUnauthorized: true }, (socket: TLSSocket) => {
    const chain: Certificate[] = [];
    for (let c = socket.getPeerCertificate(true); c?.raw; c = c.issuerCertificate === c ? (undefined as never) : c.issuerCertificate) {
      chain.push(parseCertificates(`-----BEGIN CERTIFICATE-----\n${c.raw.toString('base64')}\n-----END CERTIFICATE-----`)[0] as Certificate);
    }
    try {
      const peer = verifyPeerChain(chain, { roots, trustDomain: 'cluster.local', allowedTrustDomains: acceptTrustDomains });
      socket.end(`hello ${peer.spiffeId.uri}\n`);
    } catch (err) {
      socket.end(`denied: ${(err as Error).message}\n`);
    }
  });
  await new Promise<void>((done) => tlsServer.listen(0, '127.0.0.1', done));
  const port = (tlsServer.address() as { port: number }).port;
  try {
    return await new Promise<string>((done, fail) => {
      const socket = connect({ host: '127.0.0.1', port, cert: client.certPem, key: client.keyPem, ca: client.bundlePem, servername: 'frontend.simple-app.svc.cluster.local' });
      let reply = '';
      socket.on('data', (d: Buffer) => (reply += d.toString()));
      socket.on('end', () => done(reply.trim()));
      socket.on('error', fail);
    });
  } finally {
    tlsServer.close();
  }
}

export function registerQuickstart(program: Command): void {
  program
    .command('quickstart')
    .description("the second seed's PKI in one go: shared root, mesh and VM intermediates, workload and VM certificates, the CA service and a mutual-TLS check")
    .option('--dir <dir>', 'where to write the CA and certificates (replaced on each run)', 'isthmus-quickstart')
    .action(action(async (opts: { dir: string }) => {
      const dir = resolve(opts.dir);
      const step = stepper(8);
      await rm(dir, { recursive: true, force: true });
      const root = await step('root CA for trust domain cluster.local', async () => {
        const ca = await CertificateAuthority.createRoot({ trustDomain: 'cluster.local' });
        await writeRootCa(join(dir, 'root'), ca);
        return ca;
      });
      const [meshCa, vmCa] = await step('intermediates mesh-ca (cluster.local) and vm-ca (vm.local)', async () => {
        const mesh = await root.createIntermediate({ name: 'mesh-ca' });
        const vm = await root.createIntermediate({ name: 'vm-ca', trustDomain: 'vm.local' });
        await writePluginCa(join(dir, 'mesh-ca'), mesh);
        await writePluginCa(join(dir, 'vm-ca'), vm);
        return [mesh, vm];
      });
      await step('frontend certificate from mesh-ca', async () => {
        const issued = await meshCa.issueWithNewKey({ spiffeId: 'spiffe://cluster.local/ns/simple-app/sa/frontend', dnsNames: ['frontend.simple-app.svc.cluster.local'] });
        await writeWorkload(join(dir, 'frontend'), issued, issued.keys.privateKey, [root.certificate]);
      });
      await step('VM certificate from vm-ca (/certs/cert.pem, key.pem, ca-cert.pem)', async () => {
        const issued = await vmCa.issueWithNewKey({ spiffeId: 'spiffe://vm.local/vm/vm-1' });
        await writeWorkload(join(dir, 'vm', 'certs'), issued, issued.keys.privateKey, [root.certificate]);
      });
      const server = new IstioCaServer({ authority: meshCa });
      const port = await step('CA service (istio.v1.auth.IstioCertificateService) on 127.0.0.1', () => server.start());
      try {
        const spiffeId = 'spiffe://cluster.local/ns/fortune-teller/sa/fortune-teller';
        const rootsPem = toPem([root.certificate]);
        await step('fortune-teller gets its first certificate with a bootstrap token, then renews with it', async () => {
          const token = await issueBootstrapToken(meshCa, spiffeId, 3_600_000);
          const first = await requestCertificate({ address: `127.0.0.1:${port}`, rootsPem, spiffeId, token });
          const [leaf, ...chain] = first.chain as Certificate[];
          await writeWorkload(join(dir, 'fortune-teller'), { certificate: leaf as Certificate, chain }, first.keys.privateKey, [root.certificate]);
          const current = await readWorkload(join(dir, 'fortune-teller'));
          const renewed = await requestCertificate({ address: `127.0.0.1:${port}`, rootsPem, spiffeId, clientCertificate: { certPem: current.certPem, keyPem: current.keyPem } });
          const [renewedLeaf, ...renewedChain] = renewed.chain as Certificate[];
          await writeWorkload(join(dir, 'fortune-teller'), { certificate: renewedLeaf as Certificate, chain: renewedChain }, renewed.keys.privateKey, [root.certificate]);
        });
      } finally {
        await server.stop();
      }
      const frontend = await readWorkload(join(dir, 'frontend'));
      const vm = await readWorkload(join(dir, 'vm', 'certs'));
      const accepted = await step('mutual TLS: VM -> frontend, trust domain vm.local accepted', async () => {
        const reply = await mutualTls(frontend, vm, ['vm.local']);
        if (!reply.startsWith('hello ')) throw new Error(`frontend refused the VM: ${reply}`);
        return reply;
      });
      const refused = await step('mutual TLS: VM -> frontend, trust domain vm.local not accepted', async () => {
        const reply = await mutualTls(frontend, vm, []);
        if (!reply.startsWith('denied')) throw new Error(`frontend accepted a trust domain it should refuse: ${reply}`);
        return reply;
      });
      process.stdout.write(`\n${formatTable(['check', 'result'], [['VM -> frontend (vm.local accepted)', accepted], ['VM -> frontend (vm.local refused)', refused]])}`);
      process.stdout.write(`\nfiles in ${dir}:\n${formatTable(['directory', 'what'], [
        ['root/', 'shared root CA'], ['mesh-ca/', 'mesh intermediate (Istio cacerts layout)'], ['vm-ca/', 'VM intermediate (trust domain vm.local)'],
        ['frontend/', 'mesh workload certificate'], ['vm/certs/', "the VM's /certs for the seed's Envoy config"], ['fortune-teller/', 'certificate obtained from the CA service'],
      ])}`);
      process.stdout.write(`\ntry it with openssl:\n  openssl verify -CAfile ${dir}/root/root-cert.pem -untrusted ${dir}/vm-ca/ca-cert.pem ${dir}/vm/certs/cert.pem\n  npx isthmus ca inspect ${dir}/vm/certs/cert.pem --bundle ${dir}/root\n`);
    }));
}
