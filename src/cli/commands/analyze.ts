import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { analyze, buildSnapshot, exceedsThreshold, formatAnalysis, loadResourceFiles } from '../../api/index.js';
import type { AnalysisLevel, AnalysisMessage } from '../../api/index.js';
import { IsthmusError, formatData } from '../../common/index.js';
import { formatProblem } from '../../controlplane/index.js';
import type { StoreProblem } from '../../controlplane/index.js';
import { action, collect, outputFormat } from '../action.js';
import { connect } from './contexts.js';

/** istioctl analyze's exit code when it finds issues at or above the failure threshold. */
export const ANALYZE_ISSUES_EXIT_CODE = 79;

const LEVELS: readonly AnalysisLevel[] = ['Error', 'Warning', 'Info'];

interface AnalyzeFlags {
  filename: string[];
  namespace?: string;
  allNamespaces?: boolean;
  failureThreshold: string;
}

interface Findings {
  readonly messages: readonly AnalysisMessage[];
  /** Config that could not be analyzed at all (YAML or schema errors, a broken config-dir file). */
  readonly problems: readonly StoreProblem[];
  readonly offline: boolean;
}

function parseLevel(value: string): AnalysisLevel {
  const level = LEVELS.find((l) => l.toLowerCase() === value.toLowerCase());
  if (!level) throw new IsthmusError('ERR_ANALYZE_THRESHOLD', `invalid --failure-threshold "${value}"`, { hint: `use one of ${LEVELS.join(', ')}` });
  return level;
}

/** Offline: the files alone, validated and analyzed with src/api, as istioctl analyze --use-kube=false. */
async function analyzeFiles(files: readonly string[], namespace: string | undefined): Promise<Findings> {
  const loaded = await loadResourceFiles(files);
  const messages = analyze(buildSnapshot(loaded.resources), namespace ? { namespace } : {});
  return { messages, problems: loaded.errors, offline: true };
}

async function analyzeRemote(cmd: Command, files: readonly string[], namespace: string | undefined): Promise<Findings> {
  const client = await connect(cmd);
  const texts = await Promise.all(files.map((f) => readFile(f, 'utf8')));
  const response = await client.analyze({
    ...(namespace ? { namespace } : {}),
    ...(files.length > 0 ? { text: texts.join('\n---\n'), source: files.join(',') } : {}),
  });
  return { messages: response.messages, problems: response.problems, offline: false };
}

export function registerAnalyzeCommand(program: Command): void {
  program.command('analyze [files...]')
    .description('istioctl analyze: check config for problems, offline from files (-f) or on a control plane (--context/--server)')
    .option('-f, --filename <file>', 'file or directory to analyze (repeatable)', collect, [])
    .option('-n, --namespace <ns>', 'only report on this namespace')
    .option('-A, --all-namespaces', 'report on all namespaces (the default)')
    .option('--failure-threshold <level>', `exit ${ANALYZE_ISSUES_EXIT_CODE} at this level or above: Error, Warning or Info`, 'Error')
    .action(action(async (positional: string[], opts: AnalyzeFlags, cmd: Command) => {
      const threshold = parseLevel(opts.failureThreshold);
      const files = [...opts.filename, ...positional];
      const globals = cmd.optsWithGlobals<{ context?: string; server?: string }>();
      // With files and no control plane named, stay offline; otherwise ask the control plane.
      const remote = files.length === 0 || globals.context !== undefined || globals.server !== undefined;
      const namespace = opts.allNamespaces ? undefined : opts.namespace;
      const findings = remote ? await analyzeRemote(cmd, files, namespace) : await analyzeFiles(files, namespace);
      const format = outputFormat(cmd);
      const errors = findings.problems.filter((p) => p.severity === 'error');
      if (format === 'table') {
        if (findings.problems.length > 0) process.stderr.write(`${findings.problems.map((p) => formatProblem(p)).join('\n')}\n`);
        process.stdout.write(formatAnalysis(findings.messages, { ...(namespace ? { namespace } : {}), withSource: findings.offline }));
      } else {
        process.stdout.write(formatData(findings.problems.length > 0 ? { messages: findings.messages, problems: findings.problems } : findings.messages, format));
      }
      if (errors.length > 0) {
        throw new IsthmusError('ERR_ANALYZE_INVALID', `${errors.length} resource${errors.length === 1 ? '' : 's'} could not be analyzed`, { hint: 'fix the errors listed above (file, line and field are given)' });
      }
      if (exceedsThreshold(findings.messages, threshold)) {
        process.stderr.write(`Error: Analyzers found issues when analyzing ${namespace ? `namespace: ${namespace}` : 'all namespaces'}.\n  fix: change the resources each message names, or raise --failure-threshold\n`);
        process.exitCode = ANALYZE_ISSUES_EXIT_CODE;
      }
    }));
}
