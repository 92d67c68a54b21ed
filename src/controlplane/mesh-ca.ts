/**
 * The mesh's certificate authorities, kept in the state dir: a root, a mesh intermediate (workloads of
 * the mesh, the CSR service) and a VM intermediate (identities handed to VMs, possibly in a trust domain
 * of their own, as the second seed does). The trust bundle is the current root plus the roots it
 * replaced, so that during a root rotation old and new certificates both verify.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../common/index.js';
import {
  CertificateAuthority, exportPrivateKeyPem, fingerprintSha256, loadCertificateAuthority, parseCertificates, toPem, writePluginCa, writeRootCa,
} from '../pki/index.js';
import type { Certificate } from '../pki/index.js';

export type AuthorityName = 'mesh' | 'vm';

export interface IssuedPem {
  readonly spiffeId: string;
  /** Leaf followed by its intermediates (Envoy's certificate_chain). */
  readonly certificateChainPem: string;
  readonly privateKeyPem: string;
  /** The trust bundle: every root a peer of this mesh may chain to. */
  readonly rootsPem: string;
  readonly notAfter: string;
}

const PREVIOUS_ROOTS = 'previous-roots.pem';
const PREVIOUS_INTERMEDIATES = 'previous-intermediates.pem';

export class MeshCertificateAuthorities {
  private constructor(
    private readonly dir: string,
    private root: CertificateAuthority,
    public mesh: CertificateAuthority,
    public vm: CertificateAuthority,
    private previousRoots: Certificate[],
    private previousIntermediates: Certificate[],
  ) {}

  /** Loads the CAs from `<stateDir>/ca`, making whatever is missing (a VM CA is added to older state dirs). */
  static async open(stateDir: string, options: { trustDomain?: string; vmTrustDomain?: string } = {}): Promise<MeshCertificateAuthorities> {
    const dir = join(stateDir, 'ca');
    const trustDomain = options.trustDomain ?? 'cluster.local';
    let root: CertificateAuthority;
    let mesh: CertificateAuthority;
    if (existsSync(join(dir, 'root', 'root-key.pem'))) {
      root = await loadCertificateAuthority(join(dir, 'root'));
      mesh = await loadCertificateAuthority(join(dir, 'mesh-ca'));
    } else {
      root = await CertificateAuthority.createRoot({ trustDomain });
      mesh = await root.createIntermediate({ name: 'mesh-ca' });
      await writeRootCa(join(dir, 'root'), root);
      await writePluginCa(join(dir, 'mesh-ca'), mesh);
    }
    let vm: CertificateAuthority;
    if (existsSync(join(dir, 'vm-ca', 'ca-key.pem'))) vm = await loadCertificateAuthority(join(dir, 'vm-ca'));
    else {
      vm = await root.createIntermediate({ name: 'vm-ca', trustDomain: options.vmTrustDomain ?? root.trustDomain });
      await writePluginCa(join(dir, 'vm-ca'), vm);
    }
    const previousPath = join(dir, PREVIOUS_ROOTS);
    const previous = existsSync(previousPath) ? parseCertificates(await readFile(previousPath, 'utf8'), previousPath) : [];
    const intermediatesPath = join(dir, PREVIOUS_INTERMEDIATES);
    const intermediates = existsSync(intermediatesPath) ? parseCertificates(await readFile(intermediatesPath, 'utf8'), intermediatesPath) : [];
    return new MeshCertificateAuthorities(dir, root, mesh, vm, previous, intermediates);
  }

  get trustDomain(): string {
    return this.root.trustDomain;
  }

  /** The current root first, then the roots still trusted from before a rotation. */
  roots(): Certificate[] {
    return [this.root.certificate, ...this.previousRoots.filter((c) => !c.equal(this.root.certificate))];
  }

  rootsPem(): string {
    return toPem(this.roots());
  }

  /**
   * The mesh and VM intermediates of the roots still trusted from before a rotation: workloads renew
   * at the CA service with certificates they issued, and the CA must still recognise those chains.
   */
  retiredIntermediates(): Certificate[] {
    return [...this.previousIntermediates];
  }

  authority(name: AuthorityName): CertificateAuthority {
    return name === 'vm' ? this.vm : this.mesh;
  }

  /** A key pair and a SPIFFE certificate from the mesh or VM intermediate. */
  async issue(name: AuthorityName, options: { spiffeId: string; dnsNames?: readonly string[]; ttlMs?: number }): Promise<IssuedPem> {
    const ca = this.authority(name);
    const issued = await ca.issueWithNewKey({ spiffeId: options.spiffeId, ...(options.dnsNames ? { dnsNames: options.dnsNames } : {}), ...(options.ttlMs ? { ttlMs: options.ttlMs } : {}) });
    const intermediates = issued.chain.filter((c) => c.subject !== c.issuer);
    return {
      spiffeId: options.spiffeId,
      certificateChainPem: toPem([issued.certificate, ...intermediates]),
      privateKeyPem: await exportPrivateKeyPem(issued.keys.privateKey),
      rootsPem: this.rootsPem(),
      notAfter: issued.certificate.notAfter.toISOString(),
    };
  }

  /**
   * Root rotation: a new root with new mesh and VM intermediates. The old root stays in the bundle, so
   * certificates issued before keep verifying until they are renewed; `retire` drops old roots later.
   */
  async rotateRoot(): Promise<{ previous: string; current: string }> {
    const previous = this.root;
    const root = await CertificateAuthority.createRoot({ trustDomain: previous.trustDomain });
    const mesh = await root.createIntermediate({ name: 'mesh-ca' });
    const vm = await root.createIntermediate({ name: 'vm-ca', trustDomain: this.vm.trustDomain });
    this.previousRoots = [previous.certificate, ...this.previousRoots];
    this.previousIntermediates = [this.mesh.certificate, this.vm.certificate, ...this.previousIntermediates];
    await writeFileAtomic(join(this.dir, PREVIOUS_ROOTS), toPem(this.previousRoots));
    await writeFileAtomic(join(this.dir, PREVIOUS_INTERMEDIATES), toPem(this.previousIntermediates));
    await writeRootCa(join(this.dir, 'root'), root);
    await writePluginCa(join(this.dir, 'mesh-ca'), mesh);
    await writePluginCa(join(this.dir, 'vm-ca'), vm);
    this.root = root;
    this.mesh = mesh;
    this.vm = vm;
    return { previous: fingerprintSha256(previous.certificate), current: fingerprintSha256(root.certificate) };
  }

  /** Ends a rotation: only the current root is trusted from now on. */
  async retirePreviousRoots(): Promise<number> {
    const count = this.previousRoots.length;
    this.previousRoots = [];
    this.previousIntermediates = [];
    await writeFileAtomic(join(this.dir, PREVIOUS_ROOTS), '');
    await writeFileAtomic(join(this.dir, PREVIOUS_INTERMEDIATES), '');
    return count;
  }
}
