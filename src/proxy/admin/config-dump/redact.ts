/**
 * Envoy redacts sensitive fields before dumping config (MessageUtil::redact): every string under a
 * TlsCertificate's private_key or password, or a generic secret, becomes "[redacted]" (bytes
 * fields: the bytes of "[redacted]", base64 in JSON).
 */
const REDACTED = '[redacted]';
const REDACTED_BYTES = Buffer.from(REDACTED).toString('base64');
const SENSITIVE = new Set(['private_key', 'password']);

function redactAll(value: unknown, key: string): unknown {
  if (typeof value === 'string') return key === 'inline_bytes' ? REDACTED_BYTES : REDACTED;
  if (Array.isArray(value)) return value.map((v) => redactAll(v, key));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactAll(v, k)]));
  }
  return value;
}

/** A copy of `value` with secrets redacted; anything else is unchanged. */
export function redactSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (SENSITIVE.has(key)) out[key] = redactAll(field, key);
    else if (key === 'generic_secret' && field !== null && typeof field === 'object') out[key] = { ...field, secret: redactAll((field as Record<string, unknown>).secret, 'secret') };
    else out[key] = redactSecrets(field);
  }
  return out;
}
