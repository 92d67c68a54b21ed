import { constants, createHash } from 'node:crypto';
import type { TlsOptions } from 'node:tls';
import { durationMs } from '../../envoy/index.js';
import type { DownstreamTlsContext } from '../../envoy/index.js';

/**
 * Session resumption options of a server context. A resumed session skips certificate verification (the
 * peer's certificate comes from the session), so a session must only resume under the validation it was
 * verified with. As Envoy does, the session id context is a hash of everything validation depends on —
 * our certificates, the trusted CAs, SAN matchers, whether a client certificate is required — and
 * OpenSSL refuses to resume a ticket or session id made under another context. A new trust bundle
 * therefore means a full handshake, even if ticket keys were ever shared across contexts.
 */
export function sessionOptions(ctx: DownstreamTlsContext, material: { cert: readonly Buffer[]; ca?: Buffer | string }): Pick<TlsOptions, 'sessionIdContext' | 'sessionTimeout' | 'secureOptions'> {
  const hash = createHash('sha256');
  for (const cert of material.cert) hash.update(cert);
  if (material.ca) hash.update(material.ca);
  const { trusted_ca: _ca, ...matchers } = ctx.common_tls_context?.validation_context ?? {};
  hash.update(JSON.stringify({ matchers, require: ctx.require_client_certificate === true }));
  const timeoutMs = durationMs(ctx.session_timeout);
  return {
    // OpenSSL takes at most 32 bytes of session id context.
    sessionIdContext: hash.digest('hex').slice(0, 32),
    ...(timeoutMs !== undefined ? { sessionTimeout: Math.max(1, Math.floor(timeoutMs / 1000)) } : {}),
    ...(ctx.disable_stateless_session_resumption ? { secureOptions: constants.SSL_OP_NO_TICKET } : {}),
  };
}
