/**
 * Control plane revisions, as Istio runs them side by side (istiod-1-17 and istiod-1-18 in one cluster):
 * both read the same config (the same CRDs; Gateways and VirtualServices are not revision-scoped), and a
 * proxy is bound to one of them by its `istio.io/rev` label. Istio binds it through the injector and the
 * discovery address it writes; Isthmus also checks at the door: a control plane serves only proxies of
 * its revision, and proxies without the label only when it is the default revision (no `-r`, or
 * `--default-revision`), so a proxy pointed at the wrong control plane fails loudly instead of being
 * configured by a control plane of another version.
 */
export const REVISION_LABEL = 'istio.io/rev';

/** The revision name Istio gives the default revision (`istio.io/rev=default`, the `default` tag). */
export const DEFAULT_REVISION = 'default';

export interface RevisionPolicy {
  /** This control plane's revision (`-r`); undefined for a control plane without one. */
  readonly revision?: string | undefined;
  /** Whether it also serves proxies without the label (implied when it has no revision). */
  readonly defaultRevision: boolean;
}

export interface RevisionRefusal {
  /** The proxy's revision, or undefined when it has no label. */
  readonly proxyRevision: string | undefined;
  readonly reason: string;
  readonly hint: string;
}

/** Why a proxy with these labels may not be served by this control plane; undefined when it may. */
export function revisionRefusal(labels: Readonly<Record<string, string>>, policy: RevisionPolicy, controlPlane: string): RevisionRefusal | undefined {
  const label = labels[REVISION_LABEL];
  const proxyRevision = label === undefined || label === '' ? undefined : label;
  const served = policy.revision ?? DEFAULT_REVISION;
  if (proxyRevision === undefined || proxyRevision === DEFAULT_REVISION) {
    if (policy.defaultRevision) return undefined;
    return {
      proxyRevision,
      reason: `${proxyRevision === undefined ? `the proxy has no ${REVISION_LABEL} label` : `the proxy is labelled ${REVISION_LABEL}=${DEFAULT_REVISION}`}, and control plane ${controlPlane} serves revision ${served}, not the default revision`,
      hint: `label the proxy ${REVISION_LABEL}=${served} (isthmus proxy --label ${REVISION_LABEL}=${served}), connect it to the default revision's control plane, or start this one with --default-revision`,
    };
  }
  if (proxyRevision === policy.revision) return undefined;
  return {
    proxyRevision,
    reason: `the proxy is labelled ${REVISION_LABEL}=${proxyRevision}, and control plane ${controlPlane} serves revision ${served}`,
    hint: `connect the proxy to the control plane of revision ${proxyRevision} (isthmus proxy --xds <its xDS address>), or relabel it ${REVISION_LABEL}=${served}`,
  };
}

/**
 * The VERSION column of proxy-status when the proxy does not send ISTIO_VERSION: the Istio release a
 * revision named like Istio's (`1-18`) stands for; otherwise the Istio API level Isthmus follows.
 */
export function versionOfRevision(revision: string | undefined): string {
  const m = /^(\d+)-(\d+)(?:-(\d+))?$/.exec(revision ?? '');
  if (!m || (m[1] === '1' && m[2] === '17' && m[3] === undefined)) return ISTIO_API_VERSION;
  return `${m[1]}.${m[2]}.${m[3] ?? '0'}`;
}

/** The Istio release whose API and proxy-status output Isthmus follows (the seeds' 1.17.2). */
export const ISTIO_API_VERSION = '1.17.2';
