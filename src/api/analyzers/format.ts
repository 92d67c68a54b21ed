/** Sorting, filtering and istioctl's text form for analysis messages. */
import type { AnalysisLevel, AnalysisMessage } from '../types.js';

const LEVEL_ORDER: Record<AnalysisLevel, number> = { Error: 0, Warning: 1, Info: 2 };

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** istioctl's order: level, code, resource (kind, namespace, name), then message. */
export function compareMessages(a: AnalysisMessage, b: AnalysisMessage): number {
  return (
    LEVEL_ORDER[a.level] - LEVEL_ORDER[b.level] ||
    compareText(a.code, b.code) ||
    compareText(`${a.kind}/${a.namespace}/${a.name}`, `${b.kind}/${b.namespace}/${b.name}`) ||
    compareText(a.path ?? '', b.path ?? '') ||
    compareText(a.message, b.message)
  );
}

export function sortMessages(messages: readonly AnalysisMessage[]): AnalysisMessage[] {
  const seen = new Set<string>();
  return [...messages].sort(compareMessages).filter((m) => {
    const key = `${m.code}\u0000${m.resource}\u0000${m.path ?? ''}\u0000${m.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** True when a message is at or above `threshold` (istioctl --failure-threshold, default Error). */
export function exceedsThreshold(messages: readonly AnalysisMessage[], threshold: AnalysisLevel = 'Error'): boolean {
  return messages.some((m) => LEVEL_ORDER[m.level] <= LEVEL_ORDER[threshold]);
}

/**
 * istioctl's text form, one message per line:
 *   Error [IST0101] (VirtualService default/vs) Referenced gateway not found: "x"
 * With `withSource`, the file and line follow the resource, as istioctl does for files.
 */
export function formatAnalysis(messages: readonly AnalysisMessage[], options: { namespace?: string; withSource?: boolean } = {}): string {
  if (messages.length === 0) {
    const scope = options.namespace ? `namespace: ${options.namespace}` : 'all namespaces';
    return `\u2714 No validation issues found when analyzing ${scope}.\n`;
  }
  return sortMessages(messages)
    .map((m) => {
      let origin = m.namespace ? `${m.kind} ${m.namespace}/${m.name}` : `${m.kind} ${m.name}`;
      if (options.withSource && m.origin) origin += ` ${m.origin.source}${m.origin.line !== undefined ? `:${m.origin.line}` : ''}`;
      return `${m.level} [${m.code}] (${origin}) ${m.message}\n`;
    })
    .join('');
}
