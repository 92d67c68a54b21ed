/** Istio durations ("5s", "100ms", "1m30s", "0s") to Envoy's proto3-JSON form ("5s", "0.100s"). */

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function durationMillis(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  let total = 0;
  let consumed = 0;
  for (const m of trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/gy)) {
    total += Number(m[1]) * (UNIT_MS[m[2] ?? 's'] ?? 0);
    consumed += m[0].length;
  }
  return consumed === trimmed.length ? total : undefined;
}

export function toEnvoyDuration(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const ms = durationMillis(text);
  if (ms === undefined) return undefined;
  const seconds = ms / 1000;
  return Number.isInteger(seconds) ? `${seconds}s` : `${seconds.toFixed(3).replace(/0+$/, '')}s`;
}
