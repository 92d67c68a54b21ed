import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { pino } from 'pino';
import { IsthmusError, formatDuration, formatTable, parseDuration, writeFileAtomic } from '../../common/index.js';
import {
  CertificateAuthority, IstioCaServer, PLUGIN_CA_FILES, ROOT_FILES, WORKLOAD_FILES, describeCertificate,
  importPrivateKeyPem, isRenewalDue, issueBootstrapToken, loadCertificateAuthority, mergeTrustBundles, parseCertificates,
  parseKeyType, readCertificatesFile, renewalTime, requestCertificate, toPem, verifyPeerChain, writePluginCa, writeRootCa, writeWorkload,
} from '../../pki/index.js';
import type { Certificate, CertificateInfo } from '../../pki/index.js';
import { action, collect, emit } from '../action.js';
import { connect } from './contexts.js';

function refuseOverwrite(dir: string, files: string[], force: boolean | undefined): void {
  const existing = files.filter((f) => existsSync(join(dir, f)));
  if (existing.length > 0 && !force) {
    throw new IsthmusError('ERR_CA_EXISTS', `${dir} already holds ${existing.join(', ')}`, {
      hint: 'choose another --dir, or pass --force to replace it (certificates it issued will no longer be renewable)',
    });
  }
}

/** A TCP port for --port; 0 lets the system pick a free one. */
function parsePort(value: string, flag: string): number {
  const port = /^\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isInteger(port) || port > 65_535) {
    throw new IsthmusError('ERR_CA_PORT', `invalid ${flag} "${value}"`, { hint: 'give a port number from 0 to 65535 (0 picks a free port)' });
  }
  return port;
}

function filesTable(dir: string, files: Array<[string, string]>): string {
  return formatTable(['file', 'contents'], files.map(([name, what]) => [join(dir, name), what]));
}

function caSummary(ca: CertificateAuthority, dir: string): Record<string, unknown> {
  return {
    dir: resolve(dir),
    subject: ca.certificate.subject,
    trustDomain: ca.trustDomain,
    keyType: ca.keyType,
    notAfter: ca.certificate.notAfter.toISOString(),
    fingerprintSha256: describeCertificate(ca.certificate).fingerprintSha256,
  };
}

/** Reads roots from files or from CA/workload directories (root-cert.pem, else ca-cert.pem). */
async function readBundleSource(path: string): Promise<{ name: string; pem: string }> {
  if (existsSync(path) && statSync(path).isDirectory()) {
    for (const name of [ROOT_FILES.cert, WORKLOAD_FILES.bundle]) {
      const file = join(path, name);
      if (existsSync(file)) return { name: file, pem: await readFile(file, 'utf8') };
    }
    throw new IsthmusError('ERR_CA_BUNDLE_SOURCE', `${path} holds neither ${ROOT_FILES.cert} nor ${WORKLOAD_FILES.bundle}`, {
      hint: 'name a CA directory, a workload directory or a PEM file of roots',
    });
  }
  try {
    return { name: path, pem: await readFile(path, 'utf8') };
  } catch (err) {
    throw new IsthmusError('ERR_CA_BUNDLE_SOURCE', `cannot read ${path}`, { hint: 'check the path', cause: err });
  }
}

function inspectRows(info: CertificateInfo, renewalDue: boolean, renewAt: Date): Array<[string, string]> {
  const sans = [
    ...info.subjectAltNames.uri.map((u) => `URI:${u}`),
    ...info.subjectAltNames.dns.map((d) => `DNS:${d}`),
    ...info.subjectAltNames.ip.map((i) => `IP:${i}`),
  ];
  const left = new Date(info.notAfter).getTime() - Date.now();
  return [
    ['Subject', info.subject || '(empty)'],
    ['Issuer', info.issuer],
    ['SPIFFE ID', info.spiffeId ?? '-'],
    ['SANs', sans.join(', ') || '-'],
    ['CA', info.isCA ? `yes${info.pathLength !== undefined ? ` (path length ${info.pathLength})` : ''}` : 'no'],
    ['Key', info.keyAlgorithm],
    ['Signature', info.signatureAlgorithm],
    ['Key usage', [...info.keyUsage, ...info.extendedKeyUsage].join(', ') || '-'],
    ['Not before', info.notBefore],
    ['Not after', `${info.notAfter} (${left > 0 ? `${formatDuration(left)} left` : 'EXPIRED'})`],
    ['Renewal', info.isCA ? '-' : renewalDue ? 'due now' : `due at ${renewAt.toISOString()}`],
    ['Serial', info.serialNumber],
    ['SHA-256', info.fingerprintSha256],
  ];
}

export function registerCaCommands(program: Command): void {
  const ca = program.command('ca').description('certificate authority: SPIFFE roots, intermediates, workload certificates, CSR signing');

  ca.command('init')
    .description('create a root CA (root-cert.pem, root-key.pem)')
    .requiredOption('--dir <dir>', 'directory to write the root CA into')
    .requiredOption('--trust-domain <domain>', 'SPIFFE trust domain, e.g. cluster.local')
    .option('--key-type <type>', 'ec-p256 or rsa-2048', 'ec-p256')
    .option('--ttl <duration>', 'root lifetime', '10y')
    .option('--org <name>', 'organization in the subject (defaults to the trust domain)')
    .option('--force', 'replace an existing CA in --dir')
    .action(action(async (opts: { dir: string; trustDomain: string; keyType: string; ttl: string; org?: string; force?: boolean }, cmd: Command) => {
      refuseOverwrite(opts.dir, [ROOT_FILES.cert, ROOT_FILES.key], opts.force);
      const root = await CertificateAuthority.createRoot({
        trustDomain: opts.trustDomain,
        keyType: parseKeyType(opts.keyType),
        ttlMs: parseDuration(opts.ttl, '--ttl'),
        ...(opts.org ? { organization: opts.org } : {}),
      });
      await writeRootCa(opts.dir, root);
      emit(cmd, caSummary(root, opts.dir), () =>
        `root CA for trust domain "${root.trustDomain}" created, valid until ${root.certificate.notAfter.toISOString()}\n` +
        filesTable(opts.dir, [[ROOT_FILES.cert, 'root certificate (share it: the trust anchor)'], [ROOT_FILES.key, 'root private key (mode 0600, keep offline)']]));
    }));

  ca.command('intermediate')
    .description("create an intermediate CA signed by a root, in Istio's plug-in CA layout (cacerts)")
    .requiredOption('--root <dir>', 'directory of the signing CA (isthmus ca init)')
    .requiredOption('--dir <dir>', 'directory to write the intermediate into')
    .requiredOption('--name <name>', 'name of the intermediate, e.g. mesh-ca or vm-ca')
    .option('--trust-domain <domain>', "trust domain of the certificates it issues (default: the root's)")
    .option('--key-type <type>', 'ec-p256 or rsa-2048 (default: the root\'s)')
    .option('--ttl <duration>', 'intermediate lifetime', '5y')
    .option('--force', 'replace an existing CA in --dir')
    .action(action(async (opts: { root: string; dir: string; name: string; trustDomain?: string; keyType?: string; ttl: string; force?: boolean }, cmd: Command) => {
      refuseOverwrite(opts.dir, Object.values(PLUGIN_CA_FILES), opts.force);
      const root = await loadCertificateAuthority(opts.root);
      const intermediate = await root.createIntermediate({
        name: opts.name,
        ...(opts.trustDomain ? { trustDomain: opts.trustDomain } : {}),
        ...(opts.keyType ? { keyType: parseKeyType(opts.keyType) } : {}),
        ttlMs: parseDuration(opts.ttl, '--ttl'),
      });
      await writePluginCa(opts.dir, intermediate);
      emit(cmd, { ...caSummary(intermediate, opts.dir), name: opts.name, issuer: root.certificate.subject }, () =>
        `intermediate CA "${opts.name}" (trust domain "${intermediate.trustDomain}") signed by "${root.certificate.subject}"\n` +
        filesTable(opts.dir, [
          [PLUGIN_CA_FILES.cert, 'intermediate certificate'],
          [PLUGIN_CA_FILES.key, 'intermediate private key (mode 0600)'],
          [PLUGIN_CA_FILES.root, 'root certificate'],
          [PLUGIN_CA_FILES.chain, 'intermediate + root (Istio cert-chain.pem)'],
        ]) +
        `use it as Istio's cacerts: kubectl create secret generic cacerts -n istio-system --from-file=${opts.dir}/${PLUGIN_CA_FILES.cert} --from-file=${opts.dir}/${PLUGIN_CA_FILES.key} --from-file=${opts.dir}/${PLUGIN_CA_FILES.root} --from-file=${opts.dir}/${PLUGIN_CA_FILES.chain}\n`);
    }));

  ca.command('issue')
    .description('issue a workload certificate (cert.pem, key.pem, ca-cert.pem) with a SPIFFE ID')
    .requiredOption('--ca <dir>', 'directory of the issuing CA')
    .requiredOption('--spiffe <id>', 'SPIFFE ID, e.g. spiffe://cluster.local/ns/default/sa/sleep')
    .requiredOption('--out <dir>', 'directory to write cert.pem, key.pem and ca-cert.pem into')
    .option('--dns <name>', 'DNS SAN (repeatable)', collect, [])
    .option('--ttl <duration>', 'certificate lifetime', '24h')
    .option('--key-type <type>', 'ec-p256 or rsa-2048', 'ec-p256')
    .option('--bundle <file>', 'extra roots to add to ca-cert.pem, e.g. another mesh (repeatable)', collect, [])
    .action(action(async (opts: { ca: string; spiffe: string; out: string; dns: string[]; ttl: string; keyType: string; bundle: string[] }, cmd: Command) => {
      const authority = await loadCertificateAuthority(opts.ca);
      const issued = await authority.issueWithNewKey({
        spiffeId: opts.spiffe,
        dnsNames: opts.dns,
        ttlMs: parseDuration(opts.ttl, '--ttl'),
        keyType: parseKeyType(opts.keyType),
      });
      const extra = await Promise.all(opts.bundle.map(readBundleSource));
      const bundle = mergeTrustBundles([{ name: 'issuing root', pem: toPem([authority.root]) }, ...extra]);
      await writeWorkload(opts.out, issued, issued.keys.privateKey, bundle.certificates);
      const info = describeCertificate(issued.certificate);
      emit(cmd, { dir: resolve(opts.out), ...info }, () =>
        `issued ${opts.spiffe}, valid until ${info.notAfter}, by "${authority.certificate.subject}"\n` +
        filesTable(opts.out, [
          [WORKLOAD_FILES.cert, 'certificate chain (leaf + intermediates)'],
          [WORKLOAD_FILES.key, 'private key (mode 0600)'],
          [WORKLOAD_FILES.bundle, `trust bundle (${bundle.certificates.length} root${bundle.certificates.length === 1 ? '' : 's'})`],
        ]));
    }));

  ca.command('inspect')
    .description('show the certificates in a PEM file: subject, SANs, SPIFFE ID, validity, chain, fingerprint')
    .argument('<file>', 'PEM file with one or more certificates')
    .option('--bundle <file>', 'verify the chain against these roots (a PEM file or a CA/workload directory)')
    .action(action(async (file: string, opts: { bundle?: string }, cmd: Command) => {
      const certs = await readCertificatesFile(file);
      const items = certs.map((cert) => ({ ...describeCertificate(cert), renewalDue: isRenewalDue(cert), renewalTime: renewalTime(cert).toISOString() }));
      let verification: Record<string, unknown> | undefined;
      if (opts.bundle) {
        const source = await readBundleSource(opts.bundle);
        try {
          const peer = verifyPeerChain(certs, { roots: parseCertificates(source.pem, source.name) });
          verification = { verified: true, spiffeId: peer.spiffeId.uri, path: peer.path.map((c) => c.subject || '(empty subject)') };
        } catch (err) {
          verification = { verified: false, error: err instanceof Error ? err.message : String(err) };
        }
      }
      emit(cmd, verification ? { certificates: items, verification } : { certificates: items }, () => {
        const parts = items.map((info, i) => {
          const role = i === 0 ? (info.isCA ? 'CA certificate' : 'leaf') : info.selfSigned ? 'root' : 'intermediate';
          return `certificate ${i + 1} of ${items.length} (${role})\n${formatTable(['field', 'value'], inspectRows(info, info.renewalDue, new Date(info.renewalTime)))}`;
        });
        const chainLine = `chain: ${items.map((info) => info.subject || info.spiffeId || info.serialNumber).join(' <- ')}\n`;
        const verifyLine = verification
          ? verification.verified ? `verified against ${opts.bundle}: ${String(verification.spiffeId)}\n` : `NOT verified against ${opts.bundle}: ${String(verification.error)}\n`
          : '';
        return `${parts.join('\n')}\n${chainLine}${verifyLine}`;
      });
      if (verification && !verification.verified) process.exitCode = 1;
    }));

  ca.command('bundle')
    .description('merge the roots of several meshes into one trust bundle (federation without a shared root)')
    .argument('<sources...>', 'PEM files or CA/workload directories')
    .requiredOption('--out <file>', 'where to write the merged PEM bundle')
    .action(action(async (sources: string[], opts: { out: string }, cmd: Command) => {
      const bundle = mergeTrustBundles(await Promise.all(sources.map(readBundleSource)));
      await writeFileAtomic(opts.out, bundle.toPem());
      const rows = bundle.certificates.map((c) => {
        const info = describeCertificate(c);
        return { subject: info.subject, trustDomain: info.spiffeId?.replace('spiffe://', '') ?? '-', notAfter: info.notAfter, fingerprintSha256: info.fingerprintSha256 };
      });
      emit(cmd, { out: resolve(opts.out), roots: rows }, () =>
        `${rows.length} root${rows.length === 1 ? '' : 's'} written to ${opts.out}\n` +
        formatTable(['subject', 'trust domain', 'not after', 'sha-256'], rows.map((r) => [r.subject, r.trustDomain, r.notAfter, r.fingerprintSha256.slice(0, 23) + '…'])));
    }));

  ca.command('roots')
    .description("the trust bundle of a running mesh (its control plane's roots; old and new during a rotation)")
    .option('--out <file>', 'also write the PEM bundle to this file')
    .action(action(async (opts: { out?: string }, cmd: Command) => {
      const roots = await (await connect(cmd)).caRoots();
      if (opts.out) await writeFileAtomic(opts.out, roots.rootsPem);
      const rows = parseCertificates(roots.rootsPem).map((c) => describeCertificate(c));
      emit(cmd, roots, () => formatTable(['subject', 'not after', 'sha-256'], rows.map((r) => [r.subject, r.notAfter, r.fingerprintSha256.slice(0, 23) + '…'])));
    }));

  ca.command('rotate-root')
    .description("give a running mesh a new root; the old root stays in its trust bundle until the rotation is finished")
    .action(action(async (_opts: unknown, cmd: Command) => {
      const rotated = await (await connect(cmd)).rotateRoot();
      emit(cmd, rotated, () => `root rotated: ${rotated.previous.slice(0, 23)}… -> ${rotated.current.slice(0, 23)}…\nthe trust bundle now holds both roots; re-run \`isthmus mesh export\` for links to other meshes\n`);
    }));

  ca.command('token')
    .description("make a bootstrap token that entitles its bearer to one identity at the CA service")
    .requiredOption('--ca <dir>', 'directory of the CA that the service runs with')
    .requiredOption('--spiffe <id>', 'the identity the token entitles')
    .option('--ttl <duration>', 'token lifetime', '1h')
    .action(action(async (opts: { ca: string; spiffe: string; ttl: string }, cmd: Command) => {
      const authority = await loadCertificateAuthority(opts.ca);
      const token = await issueBootstrapToken(authority, opts.spiffe, parseDuration(opts.ttl, '--ttl'));
      emit(cmd, { token, spiffeId: opts.spiffe }, () => `${token}\n`);
    }));

  ca.command('serve')
    .description("serve CSR signing over TLS with Istio's CA API (istio.v1.auth.IstioCertificateService)")
    .requiredOption('--ca <dir>', 'directory of the signing CA')
    .option('--address <ip>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (Istio uses 15012)', '15012')
    .option('--accept-trust-domain <domain>', 'also renew certificates of this trust domain (repeatable)', collect, [])
    .option('--skip-validate-trust-domain', "accept callers of any trust domain (Istio's PILOT_SKIP_VALIDATE_TRUST_DOMAIN)")
    .option('--intermediate <file>', 'another intermediate whose certificates may renew, e.g. a VM CA (repeatable)', collect, [])
    .option('--default-ttl <duration>', 'lifetime when the caller asks for none', '24h')
    .option('--max-ttl <duration>', 'longest lifetime a caller may ask for', '2160h')
    .action(action(async (opts: { ca: string; address: string; port: string; acceptTrustDomain: string[]; skipValidateTrustDomain?: boolean; intermediate: string[]; defaultTtl: string; maxTtl: string }) => {
      const port = parsePort(opts.port, '--port');
      const authority = await loadCertificateAuthority(opts.ca);
      const intermediates = (await Promise.all(opts.intermediate.map(readCertificatesFile))).flat();
      const server = new IstioCaServer({
        authority,
        host: opts.address,
        port,
        intermediates,
        allowedTrustDomains: opts.skipValidateTrustDomain ? 'any' : opts.acceptTrustDomain,
        defaultTtlMs: parseDuration(opts.defaultTtl, '--default-ttl'),
        maxTtlMs: parseDuration(opts.maxTtl, '--max-ttl'),
        logger: pino({ name: 'isthmus-ca' }, pino.destination(2)),
      });
      const boundPort = await server.start();
      process.stderr.write(`CA service for trust domain "${authority.trustDomain}" listening on ${opts.address}:${boundPort} (Ctrl-C to stop)\n`);
      await new Promise<void>((done) => {
        const stop = () => void server.stop().then(done);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    }));

  ca.command('request')
    .description('get a certificate from a CA service, as a proxy does (first time with a token, renewal with the current certificate)')
    .requiredOption('--ca-server <host:port>', 'address of the CA service (Istio: 15012)')
    .requiredOption('--root <file>', "PEM roots to verify the CA service's certificate (root-cert.pem)")
    .requiredOption('--spiffe <id>', 'the identity to ask for')
    .requiredOption('--out <dir>', 'directory to write cert.pem, key.pem and ca-cert.pem into')
    .option('--token <token>', 'bootstrap token from `isthmus ca token`')
    .option('--cert-dir <dir>', 'authenticate with the certificate and key in this directory (renewal)')
    .option('--ttl <duration>', 'requested lifetime (the CA default when left out)')
    .option('--key-type <type>', 'ec-p256 or rsa-2048', 'ec-p256')
    .action(action(async (localOpts: { caServer: string; root: string; spiffe: string; out: string; token?: string; certDir?: string; ttl?: string; keyType: string }, cmd: Command) => {
      // --token is also a global flag (the management API's); whichever parsed it, here it is the bootstrap token.
      const opts = { ...localOpts, token: localOpts.token ?? cmd.optsWithGlobals<{ token?: string }>().token };
      const rootsPem = (await readBundleSource(opts.root)).pem;
      let clientCertificate: { certPem: string; keyPem: string } | undefined;
      if (opts.certDir) {
        const keyPem = await readFile(join(opts.certDir, WORKLOAD_FILES.key), 'utf8');
        await importPrivateKeyPem(keyPem, join(opts.certDir, WORKLOAD_FILES.key)); // fail early on a bad key
        clientCertificate = { certPem: await readFile(join(opts.certDir, WORKLOAD_FILES.cert), 'utf8'), keyPem };
      }
      if (!opts.token && !clientCertificate) {
        throw new IsthmusError('ERR_CA_NO_CREDENTIALS', 'no credentials to authenticate to the CA service', {
          hint: 'pass --token (from `isthmus ca token`) or --cert-dir with a current certificate',
        });
      }
      const response = await requestCertificate({
        address: opts.caServer,
        rootsPem,
        spiffeId: opts.spiffe,
        keyType: parseKeyType(opts.keyType),
        ...(opts.token ? { token: opts.token } : {}),
        ...(clientCertificate ? { clientCertificate } : {}),
        ...(opts.ttl ? { ttlMs: parseDuration(opts.ttl, '--ttl') } : {}),
      }).catch((err: unknown) => {
        const details = (err as { details?: string }).details;
        throw new IsthmusError('ERR_CA_REQUEST', `the CA service refused or failed: ${details ?? (err instanceof Error ? err.message : String(err))}`, { cause: err });
      });
      const [leaf, ...rest] = response.chain as Certificate[];
      const roots = rest.filter((c) => c.subject === c.issuer);
      await writeWorkload(opts.out, { certificate: leaf as Certificate, chain: rest }, response.keys.privateKey, roots.length ? roots : parseCertificates(rootsPem));
      const info = describeCertificate(leaf as Certificate);
      emit(cmd, { dir: resolve(opts.out), ...info }, () => `received ${info.spiffeId}, valid until ${info.notAfter}\n` +
        filesTable(opts.out, [[WORKLOAD_FILES.cert, 'certificate chain'], [WORKLOAD_FILES.key, 'private key (mode 0600)'], [WORKLOAD_FILES.bundle, 'trust bundle']]));
    }));

}
