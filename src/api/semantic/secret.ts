/** What the Kubernetes API server checks on a Secret, for the fields Isthmus reads. */
import { issue } from '../paths.js';
import type { Issue } from '../paths.js';
import type { SecretResource } from '../types.js';

const KEY = /^[-._a-zA-Z0-9]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function validateSecret(secret: SecretResource): Issue[] {
  const issues: Issue[] = [];
  for (const field of ['data', 'stringData'] as const) {
    for (const [key, value] of Object.entries(secret[field] ?? {})) {
      if (!KEY.test(key)) issues.push(issue([field, key], `invalid key "${key}"`, 'keys may contain letters, digits, "-", "_" and "."'));
      if (field === 'data' && !BASE64.test(value.replace(/\s+/g, ''))) {
        issues.push(issue([field, key], 'value is not valid base64', 'base64-encode the value, or move it to stringData as plain text'));
      }
    }
  }
  if (secret.type === 'kubernetes.io/tls') {
    const keys = new Set([...Object.keys(secret.data ?? {}), ...Object.keys(secret.stringData ?? {})]);
    for (const required of ['tls.crt', 'tls.key']) {
      if (!keys.has(required)) issues.push(issue(['data', required], `a kubernetes.io/tls Secret needs "${required}"`, `add data.${required} (base64 PEM)`));
    }
  }
  return issues;
}
