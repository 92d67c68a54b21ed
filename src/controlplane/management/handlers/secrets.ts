import { extractTlsCredential } from '../../../api/index.js';
import type { CredentialUse, SecretResource } from '../../../api/index.js';
import { HttpError, readJson, sendJson } from '../http.js';
import type { ApplyResponse, SecretRequest } from '../protocol.js';
import { invalidConfig } from './context.js';
import type { Handler } from './context.js';

function parseRequest(body: Record<string, unknown>): SecretRequest {
  const { type, name, namespace, data } = body;
  if (type !== 'generic' && type !== 'tls') throw new HttpError(400, 'ERR_BAD_REQUEST', `secret type must be "generic" or "tls", not ${JSON.stringify(type)}`, 'create secret generic ... or create secret tls ...');
  if (typeof name !== 'string' || name === '') throw new HttpError(400, 'ERR_BAD_REQUEST', 'secret name is required', 'give the secret a name');
  if (namespace !== undefined && typeof namespace !== 'string') throw new HttpError(400, 'ERR_BAD_REQUEST', 'namespace must be a string', 'pass -n NAMESPACE');
  const valid = data !== null && typeof data === 'object' && !Array.isArray(data) && Object.values(data).every((v) => typeof v === 'string');
  if (!valid || Object.keys(data).length === 0) throw new HttpError(400, 'ERR_BAD_REQUEST', 'data must map keys to base64 values', 'give at least one --from-file, --from-literal, or --cert and --key');
  return { type, name, ...(namespace ? { namespace } : {}), data: data as Record<string, string>, dryRun: body['dryRun'] === true };
}

/** Which TLS credential a Secret holds, judging by its keys (Istio's generic and kubernetes.io/tls layouts). */
function credentialUse(keys: readonly string[]): CredentialUse | undefined {
  const has = (k: string) => keys.includes(k);
  const pair = (has('key') && has('cert')) || (has('tls.key') && has('tls.crt'));
  const ca = has('cacert') || has('ca.crt');
  return pair ? (ca ? 'keyPairAndCa' : 'keyPair') : ca ? 'ca' : undefined;
}

/**
 * POST /v1/secrets: kubectl create secret generic|tls. Creates (never replaces) the Secret; when it holds
 * a TLS credential, the PEM must parse and the key must belong to the certificate, so that a gateway
 * never gets a credential it cannot use.
 */
export const handleSecrets: Handler = async (context, req, res) => {
  const request = parseRequest(await readJson(req));
  const namespace = request.namespace ?? 'default';
  const secret: SecretResource = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: request.name, namespace },
    type: request.type === 'tls' ? 'kubernetes.io/tls' : 'Opaque',
    data: { ...request.data },
  };
  const source = `secret ${request.type} ${request.name}`;
  const use = credentialUse(Object.keys(request.data));
  if (use) {
    const credential = extractTlsCredential(secret, { use });
    if (!credential.valid) {
      throw invalidConfig([{ severity: 'error', code: 'SEMANTIC', source, kind: 'Secret', name: request.name, namespace, resource: `Secret ${request.name}.${namespace}`, path: 'data', message: credential.message, fix: 'give the matching key and certificate files (PEM)' }], source);
    }
  }
  const dryRun = request.dryRun === true;
  const outcome = await context.store.apply([secret], { source, createOnly: true, dryRun });
  if (!outcome.ok) throw invalidConfig(outcome.errors, source);
  const body: ApplyResponse = {
    revision: outcome.revision,
    dryRun,
    results: outcome.results.map((r) => ({ apiVersion: r.apiVersion, kind: r.ref.kind, namespace: r.ref.namespace, name: r.ref.name, action: r.action })),
    warnings: [],
  };
  sendJson(res, 200, body);
};
