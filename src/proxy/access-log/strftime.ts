/**
 * START_TIME(...) formatting: C++ strftime specifiers in UTC (Envoy formats in UTC), plus Envoy's own
 * %s (epoch seconds) and %f / %[1-9]f (fraction of a second, 9 digits by default), and the absl forms
 * Envoy passes through (%E3S, %E*S, %E6f, %Ez). Compiled once per format string.
 */

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

type Part = (d: Date) => string;

const pad = (n: number, width = 2, fill = '0'): string => String(n).padStart(width, fill);

/** Fraction of the second with `digits` digits; Date has millisecond resolution, the rest is zeros. */
function fraction(d: Date, digits: number): string {
  return (pad(d.getUTCMilliseconds(), 3) + '000000').slice(0, digits);
}

function dayOfYear(d: Date): number {
  return Math.floor((d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1;
}

function hour12(d: Date): number {
  return d.getUTCHours() % 12 || 12;
}

const SPECIFIERS: Record<string, Part> = {
  a: (d) => (DAYS[d.getUTCDay()] as string).slice(0, 3),
  A: (d) => DAYS[d.getUTCDay()] as string,
  b: (d) => (MONTHS[d.getUTCMonth()] as string).slice(0, 3),
  h: (d) => (MONTHS[d.getUTCMonth()] as string).slice(0, 3),
  B: (d) => MONTHS[d.getUTCMonth()] as string,
  C: (d) => pad(Math.floor(d.getUTCFullYear() / 100)),
  d: (d) => pad(d.getUTCDate()),
  e: (d) => pad(d.getUTCDate(), 2, ' '),
  H: (d) => pad(d.getUTCHours()),
  I: (d) => pad(hour12(d)),
  j: (d) => pad(dayOfYear(d), 3),
  m: (d) => pad(d.getUTCMonth() + 1),
  M: (d) => pad(d.getUTCMinutes()),
  p: (d) => (d.getUTCHours() < 12 ? 'AM' : 'PM'),
  S: (d) => pad(d.getUTCSeconds()),
  s: (d) => String(Math.floor(d.getTime() / 1000)),
  u: (d) => String(d.getUTCDay() || 7),
  w: (d) => String(d.getUTCDay()),
  y: (d) => pad(d.getUTCFullYear() % 100),
  Y: (d) => String(d.getUTCFullYear()),
  z: () => '+0000',
  Z: () => 'UTC',
  t: () => '\t',
  '%': () => '%',
};

// Composite specifiers, expanded into their parts.
const COMPOSITES: Record<string, string> = {
  D: '%m/%d/%y',
  F: '%Y-%m-%d',
  T: '%H:%M:%S',
  R: '%H:%M',
  r: '%I:%M:%S %p',
  c: '%a %b %e %H:%M:%S %Y',
  x: '%m/%d/%y',
  X: '%H:%M:%S',
};

/** Compiles a strftime-style format into a function of a Date. Unknown specifiers print as written. */
export function compileTimeFormat(format: string): (date: Date) => string {
  const parts: Part[] = [];
  let literal = '';
  const flush = (): void => {
    if (literal) {
      const text = literal;
      parts.push(() => text);
      literal = '';
    }
  };
  for (let i = 0; i < format.length; i++) {
    const ch = format[i] as string;
    if (ch !== '%' || i === format.length - 1) {
      literal += ch;
      continue;
    }
    const rest = format.slice(i + 1);
    // Envoy: %f (nanoseconds) and %1f..%9f.
    const frac = /^([1-9])?f/.exec(rest);
    // absl: %E#S / %E*S (seconds with fraction), %E#f / %E*f (fraction only), %Ez (+00:00), %E4Y.
    const absl = /^E([0-9]|\*)([Sf])/.exec(rest) ?? /^E(z)/.exec(rest) ?? /^E(4)(Y)/.exec(rest);
    if (frac) {
      flush();
      const digits = frac[1] ? Number(frac[1]) : 9;
      parts.push((d) => fraction(d, digits));
      i += frac[0].length;
    } else if (absl) {
      flush();
      parts.push(abslPart(absl));
      i += absl[0].length;
    } else {
      const spec = rest[0] as string;
      const composite = COMPOSITES[spec];
      const part = SPECIFIERS[spec];
      if (composite) {
        flush();
        parts.push(compileTimeFormat(composite));
      } else if (part) {
        flush();
        parts.push(part);
      } else {
        literal += `%${spec}`;
      }
      i += 1;
    }
  }
  flush();
  return (date) => {
    let out = '';
    for (const part of parts) out += part(date);
    return out;
  };
}

function abslPart(match: RegExpExecArray): Part {
  if (match[1] === 'z') return () => '+00:00';
  if (match[2] === 'Y') return (d) => pad(d.getUTCFullYear(), 4);
  const all = match[1] === '*';
  const digits = all ? 9 : Number(match[1]);
  // %E*S / %E*f print only the significant fraction digits.
  const frac = (d: Date): string => (all ? fraction(d, 9).replace(/0+$/, '') : fraction(d, digits));
  if (match[2] === 'f') return frac;
  return (d) => {
    const f = frac(d);
    return pad(d.getUTCSeconds()) + (f ? `.${f}` : '');
  };
}
