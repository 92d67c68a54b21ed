import { parseSpiffeId } from '../../../pki/index.js';
import { HttpError, readJson, sendJson } from '../http.js';
import type { CaProvider, IssueCertificateRequest, IssueTokenRequest } from '../protocol.js';
import type { Handler, HandlerContext } from './context.js';

function caOf(context: HandlerContext): CaProvider {
  const ca = context.providers().ca;
  if (!ca) throw new HttpError(503, 'ERR_NO_CA', 'this control plane has no CA', 'start it with `isthmus controlplane` (the CA lives in its state dir)');
  return ca;
}

/** The identity part of a certificate or token request: a valid SPIFFE id and a known authority. */
function checkIdentity(body: { spiffeId?: unknown; authority?: unknown }, example: string): void {
  if (typeof body.spiffeId !== 'string') {
    throw new HttpError(400, 'ERR_BAD_REQUEST', 'spiffeId is required', `send {"spiffeId": "spiffe://<trust-domain>/ns/<ns>/sa/<sa>", ${example}}`);
  }
  try {
    parseSpiffeId(body.spiffeId);
  } catch (err) {
    throw new HttpError(400, 'ERR_BAD_REQUEST', `spiffeId: ${(err as Error).message}`, 'use spiffe://<trust-domain>/<path>');
  }
  if (body.authority !== undefined && body.authority !== 'mesh' && body.authority !== 'vm') {
    throw new HttpError(400, 'ERR_BAD_REQUEST', `authority "${String(body.authority)}" is unknown`, 'use "mesh" or "vm"');
  }
}

/** GET /v1/ca/roots: the mesh's trust bundle, to give to the meshes and VMs that must trust this one. */
export const handleCaRoots: Handler = async (context, _req, res) => {
  sendJson(res, 200, caOf(context).roots());
};

/** POST /v1/ca/certificates: a key and a SPIFFE certificate from the mesh or VM intermediate. */
export const handleIssueCertificate: Handler = async (context, req, res) => {
  const body = (await readJson(req)) as Partial<IssueCertificateRequest>;
  checkIdentity(body, '"dnsNames": [...]');
  if (body.dnsNames !== undefined && (!Array.isArray(body.dnsNames) || body.dnsNames.some((n) => typeof n !== 'string'))) {
    throw new HttpError(400, 'ERR_BAD_REQUEST', 'dnsNames must be a list of strings', 'send e.g. "dnsNames": ["lambda.external"]');
  }
  sendJson(res, 200, await caOf(context).issue(body as IssueCertificateRequest));
};

/** POST /v1/ca/tokens: a bootstrap token for one identity's first certificate from the CA service (a VM's, say). */
export const handleIssueToken: Handler = async (context, req, res) => {
  const body = (await readJson(req)) as Partial<IssueTokenRequest>;
  checkIdentity(body, '"ttlMs": 3600000');
  if (body.ttlMs !== undefined && (typeof body.ttlMs !== 'number' || !(body.ttlMs > 0) || body.ttlMs > 7 * 24 * 3600_000)) {
    throw new HttpError(400, 'ERR_BAD_REQUEST', 'ttlMs must be a positive number of milliseconds, at most 7 days', 'a token is only good for the first certificate: keep it short (1 h by default)');
  }
  sendJson(res, 200, await caOf(context).token(body as IssueTokenRequest));
};

/** POST /v1/ca/rotate-root: a new root; the old one stays trusted until the rotation is finished. */
export const handleRotateRoot: Handler = async (context, _req, res) => {
  sendJson(res, 200, await caOf(context).rotateRoot());
};

/** GET /v1/services: the service registry as translation sees it. */
export const handleServices: Handler = async (context, _req, res) => {
  const services = context.providers().services;
  sendJson(res, 200, { items: services ? services() : [] });
};
