/* global console, process */
// Reads testssl.sh flat JSON files (--jsonfile) and decides pass/fail for scripts/testssl.sh:
// - SSLv2, SSLv3, TLS 1.0 and TLS 1.1 must be "not offered";
// - no vulnerability check (Heartbleed, ROBOT, renegotiation, CRIME, BREACH, POODLE, SWEET32, FREAK,
//   DROWN, LOGJAM, BEAST, LUCKY13, RC4, ...) and no weak cipher category may be rated above OK/INFO;
// - nothing anywhere may be rated HIGH or CRITICAL.
// Prints a summary; exits 1 on failure.
import { readFileSync } from 'node:fs';

const OLD_PROTOCOLS = ['SSLv2', 'SSLv3', 'TLS1', 'TLS1_1'];
const VULNERABILITIES = /^(heartbleed|CCS|ticketbleed|ROBOT|secure_renego|secure_client_renego|CRIME_TLS|BREACH|POODLE_SSL|POODLE_TLS|fallback_SCSV|SWEET32|FREAK|DROWN|DROWN_hint|LOGJAM|LOGJAM-common_primes|BEAST|BEAST_CBC_.*|LUCKY13|winshock|RC4|GREASE|cipherlist_.*)$/;
const FLAGGED = new Set(['LOW', 'MEDIUM', 'HIGH', 'CRITICAL']);
/** Findings about the certificate's issuer policy, not the gateway's TLS, with the reason they are accepted. */
const ACCEPTED = {
  cert_revocation: 'mesh CA certificates are short-lived and carry no CRL/OCSP URI: revocation is by expiry (as Istio)',
};

const failures = [];
const notes = [];
for (const file of process.argv.slice(2)) {
  const findings = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(findings.map((f) => [f.id, f]));
  const name = file.replace(/.*\//, '');
  console.log(`${name}: ${findings.length} findings`);
  for (const id of ['SSLv2', 'SSLv3', 'TLS1', 'TLS1_1', 'TLS1_2', 'TLS1_3']) {
    const f = byId.get(id);
    console.log(`  ${id.padEnd(7)} ${f ? f.finding : '(not tested)'}`);
    if (OLD_PROTOCOLS.includes(id) && !(f && /not offered/i.test(f.finding))) failures.push(`${name}: ${id} ${f ? f.finding : 'not tested'}`);
  }
  const counts = {};
  for (const f of findings) {
    counts[f.severity] = (counts[f.severity] ?? 0) + 1;
    if (f.id === 'scanProblem' || f.severity === 'WARN') notes.push(`${name}: ${f.id} [${f.severity}] ${f.finding}`);
    if (!FLAGGED.has(f.severity)) continue;
    const line = `${name}: ${f.id} [${f.severity}] ${f.finding}`;
    if (ACCEPTED[f.id]) {
      notes.push(`${line} (accepted: ${ACCEPTED[f.id]})`);
      continue;
    }
    if (VULNERABILITIES.test(f.id) || f.severity === 'HIGH' || f.severity === 'CRITICAL') failures.push(line);
    else notes.push(line);
  }
  console.log(`  severities: ${Object.entries(counts).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  for (const id of ['cipher_negotiated', 'cipher_order', 'FS', 'FS_ciphers', 'secure_renego', 'secure_client_renego', 'heartbleed', 'ROBOT', 'LUCKY13', 'SWEET32', 'BEAST', 'overall_grade']) {
    const f = byId.get(id);
    if (f) console.log(`  ${id}: ${f.finding} [${f.severity}]`);
  }
}
if (notes.length) console.log(`\nnot counted as vulnerabilities (${notes.length}):\n  ${notes.join('\n  ')}`);
if (failures.length) {
  console.log(`\nFAIL (${failures.length}):\n  ${failures.join('\n  ')}`);
  process.exit(1);
}
console.log('\nPASS: no vulnerability flagged, TLS 1.0/1.1 and SSL not offered');
