import { IsthmusError } from './errors.js';

const UNITS_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  y: 365 * 86_400_000,
};

/**
 * Parses durations as Go, Istio and Envoy users write them: "90s", "24h", "1h30m", "8760h",
 * plus "d" and "y" for CA lifetimes ("10y"). Returns milliseconds.
 */
export function parseDuration(text: string, what = 'duration'): number {
  const trimmed = text.trim();
  const pattern = /(\d+(?:\.\d+)?)(ms|s|m|h|d|y)/gy;
  let total = 0;
  let matched = 0;
  for (const m of trimmed.matchAll(pattern)) {
    total += Number(m[1]) * (UNITS_MS[m[2] as string] as number);
    matched += m[0].length;
  }
  if (trimmed.length === 0 || matched !== trimmed.length || total <= 0) {
    throw new IsthmusError('ERR_DURATION', `invalid ${what} "${text}"`, {
      hint: 'write a positive duration such as 90s, 30m, 24h, 1h30m, 365d or 10y',
    });
  }
  return Math.round(total);
}

/** Formats milliseconds the short way istioctl prints ages: 3d4h, 5h10m, 42s. */
export function formatDuration(ms: number): string {
  const negative = ms < 0;
  let rest = Math.abs(Math.round(ms / 1000));
  const parts: string[] = [];
  for (const [unit, seconds] of [
    ['y', 365 * 86_400],
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= seconds) {
      parts.push(`${Math.floor(rest / seconds)}${unit}`);
      rest %= seconds;
    }
    if (parts.length === 2) break;
  }
  const text = parts.length ? parts.join('') : '0s';
  return negative ? `-${text}` : text;
}
