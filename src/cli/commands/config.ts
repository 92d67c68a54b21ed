import { readFile, readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Command } from 'commander';
import { IsthmusError, formatTable } from '../../common/index.js';
import { ManagementApiError, formatProblem, manifestObjects, printerColumns, resolveKind, resourceType } from '../../controlplane/index.js';
import type { ApplyResponse, RefInput, ResultItem } from '../../controlplane/index.js';
import { action, collect, emit, outputFormat } from '../action.js';
import { connect } from './contexts.js';

const STDIN = '<stdin>';
const CONFIG_FILE = /\.(ya?ml|json)$/i;

interface Input {
  readonly source: string;
  readonly text: string;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** -f FILE, -f DIR (its YAML/JSON files, in name order) or -f - (standard input, e.g. a heredoc). */
async function readInputs(paths: readonly string[]): Promise<Input[]> {
  if (paths.length === 0) throw new IsthmusError('ERR_NO_INPUT', 'no input given', { hint: 'pass -f FILE, -f DIR, or -f - to read standard input' });
  const inputs: Input[] = [];
  for (const path of paths) {
    if (path === '-') {
      inputs.push({ source: STDIN, text: await readStdin() });
      continue;
    }
    try {
      if ((await stat(path)).isDirectory()) {
        const names = (await readdir(path)).filter((n) => CONFIG_FILE.test(n) && !n.startsWith('.')).sort();
        for (const name of names) inputs.push({ source: join(path, name), text: await readFile(join(path, name), 'utf8') });
      } else inputs.push({ source: path, text: await readFile(path, 'utf8') });
    } catch (err) {
      throw new IsthmusError('ERR_READ_INPUT', `cannot read ${path}: ${(err as Error).message}`, { hint: 'check the path given with -f', cause: err });
    }
  }
  return inputs;
}

/** Config refusals list every problem (file, line, resource, field, fix) before the one-line error. */
async function reportingProblems(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof ManagementApiError && err.problems.length > 0) process.stderr.write(`${err.problems.map(formatProblem).join('\n')}\n`);
    throw err;
  }
}

/** kubectl's result line: "gateway.networking.istio.io/eastwestgateway created". */
function resultLine(r: ResultItem, dryRun: boolean): string {
  return `${resourceType(r.kind, r.apiVersion)}/${r.name} ${r.action}${dryRun ? ' (server dry run)' : ''}\n`;
}

function printResults(cmd: Command, responses: readonly { dryRun: boolean; results: readonly ResultItem[]; warnings?: ApplyResponse['warnings'] }[]): void {
  for (const r of responses) {
    for (const w of r.warnings ?? []) process.stderr.write(`Warning: ${formatProblem(w)}\n`);
    for (const item of r.results) if (item.action === 'ignored') process.stderr.write(`Warning: ${item.reason ?? `${item.kind} is ignored`}\n`);
  }
  emit(cmd, responses.length === 1 ? responses[0] : responses, () => responses.flatMap((r) => r.results.map((item) => resultLine(item, r.dryRun))).join(''));
}

/** kind/namespace/name of every object in manifests, for delete -f (the spec need not be valid). */
function refsOf(input: Input): RefInput[] {
  const { objects, error } = manifestObjects(input.text);
  if (error) throw new IsthmusError('ERR_BAD_MANIFEST', `${input.source} (document ${error.document}): ${error.message}`, { hint: 'fix the YAML' });
  return objects.map(({ document, value }) => {
    const metadata = value['metadata'] as { name?: unknown; namespace?: unknown } | undefined;
    const { kind, apiVersion } = value;
    if (typeof kind !== 'string' || typeof metadata?.name !== 'string') {
      throw new IsthmusError('ERR_BAD_MANIFEST', `${input.source} (document ${document}): an object without kind or metadata.name`, { hint: 'every document needs apiVersion, kind and metadata.name' });
    }
    const namespace = typeof metadata.namespace === 'string' && metadata.namespace ? { namespace: metadata.namespace } : {};
    return { kind, name: metadata.name, ...(typeof apiVersion === 'string' ? { apiVersion } : {}), ...namespace };
  });
}

/** kubectl's TYPE/NAME form ("gateway/eastwestgateway"), or the separate arguments. */
function typeAndName(kindArg: string, nameArg: string | undefined): [string, string | undefined] {
  const slash = kindArg.indexOf('/');
  return slash < 0 ? [kindArg, nameArg] : [kindArg.slice(0, slash), kindArg.slice(slash + 1)];
}

function dryRunMode(value: string | boolean | undefined): boolean {
  if (value === undefined || value === false || value === 'none') return false;
  if (value === true || value === 'server' || value === 'client') return true;
  throw new IsthmusError('ERR_DRY_RUN', `invalid --dry-run "${value}"`, { hint: 'use --dry-run=server (or client, or none)' });
}

function registerApply(program: Command): void {
  program.command('apply')
    .description('create or update resources from YAML/JSON (kubectl apply): -f FILE, -f DIR or -f - for stdin')
    .option('-f, --filename <file>', 'file, directory or - for stdin (repeatable)', collect, [])
    .option('-n, --namespace <ns>', 'namespace for objects that name none')
    .option('--dry-run [mode]', 'validate on the control plane and show what would change, store nothing')
    .action(action(async (opts: { filename: string[]; namespace?: string; dryRun?: string | boolean }, cmd: Command) => {
      const inputs = await readInputs(opts.filename);
      const client = await connect(cmd);
      const responses: ApplyResponse[] = [];
      // One request per file: each is all or nothing, and errors name the file.
      const dryRun = dryRunMode(opts.dryRun);
      await reportingProblems(async () => {
        try {
          for (const input of inputs) {
            responses.push(await client.apply(input.text, { source: input.source, dryRun, ...(opts.namespace ? { namespace: opts.namespace } : {}) }));
          }
        } finally {
          // Files applied before a refused one stay applied: say so.
          if (responses.length > 0) printResults(cmd, responses);
        }
      });
    }));
}

function registerDelete(program: Command): void {
  program.command('delete [kind] [names...]')
    .description('delete resources named in files (-f) or by kind and name (kubectl delete)')
    .option('-f, --filename <file>', 'file, directory or - for stdin (repeatable)', collect, [])
    .option('-n, --namespace <ns>', 'namespace of resources that name none', 'default')
    .option('--ignore-not-found', 'treat a missing resource as deleted')
    .option('--dry-run [mode]', 'show what would be deleted, delete nothing')
    .action(action(async (kind: string | undefined, names: string[], opts: { filename: string[]; namespace: string; ignoreNotFound?: boolean; dryRun?: string | boolean }, cmd: Command) => {
      let resources: RefInput[];
      if (opts.filename.length > 0) resources = (await readInputs(opts.filename)).flatMap(refsOf);
      else if (kind && names.length > 0) resources = names.map((name) => ({ kind, name }));
      else if (kind?.includes('/')) {
        const [type, name] = typeAndName(kind, undefined);
        resources = [{ kind: type, name: name ?? '' }];
      } else throw new IsthmusError('ERR_NO_INPUT', 'nothing to delete', { hint: 'pass -f FILE, or a kind and names: isthmus delete gateway NAME -n NAMESPACE' });
      const client = await connect(cmd);
      await reportingProblems(async () => {
        const response = await client.delete({ resources, namespace: opts.namespace, ignoreNotFound: opts.ignoreNotFound === true, dryRun: dryRunMode(opts.dryRun) });
        printResults(cmd, [response]);
      });
    }));
}

function registerGet(program: Command): void {
  program.command('get <kind> [name]')
    .description('list resources of a kind as a table, or one resource (-o yaml|json)')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .option('-A, --all-namespaces', 'list across all namespaces')
    .action(action(async (kindArg: string, nameArg: string | undefined, opts: { namespace: string; allNamespaces?: boolean }, cmd: Command) => {
      const [kind, name] = typeAndName(kindArg, nameArg);
      const client = await connect(cmd);
      const response = await client.resources({ kind, ...(opts.allNamespaces ? {} : { namespace: opts.namespace }), ...(name ? { name } : {}) });
      const { items } = response;
      const format = outputFormat(cmd);
      if (format !== 'table') {
        const resources = items.map((i) => i.resource);
        emit(cmd, name && resources.length === 1 ? resources[0] : { apiVersion: 'v1', kind: 'List', items: resources }, () => '');
        return;
      }
      const names = resolveKind(response.kind ?? kind);
      if (items.length === 0) {
        process.stderr.write(opts.allNamespaces || !names?.namespaced ? 'No resources found\n' : `No resources found in ${opts.namespace} namespace.\n`);
        return;
      }
      const columns = printerColumns(response.kind ?? kind);
      const withNamespace = Boolean(opts.allNamespaces && names?.namespaced);
      const now = Date.now();
      const rows = items.map((i) => (withNamespace ? [i.resource.metadata.namespace, ...columns.row(i.resource, now)] : columns.row(i.resource, now)));
      process.stdout.write(formatTable(withNamespace ? ['NAMESPACE', ...columns.headers] : [...columns.headers], rows));
    }));
}

/** --from-file [key=]path: the key defaults to the file's name, as kubectl does. */
async function fromFiles(specs: readonly string[], literals: readonly string[]): Promise<Record<string, string>> {
  const data: Record<string, string> = {};
  const put = (key: string, value: Buffer, what: string) => {
    if (key in data) throw new IsthmusError('ERR_SECRET_KEY', `key "${key}" given twice (${what})`, { hint: 'give each key once: --from-file=KEY=PATH' });
    data[key] = value.toString('base64');
  };
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const [key, path] = eq < 0 ? [basename(spec), spec] : [spec.slice(0, eq), spec.slice(eq + 1)];
    let content: Buffer;
    try {
      content = await readFile(path);
    } catch (err) {
      throw new IsthmusError('ERR_READ_INPUT', `cannot read ${path}: ${(err as Error).message}`, { hint: 'check the path in --from-file=KEY=PATH', cause: err });
    }
    put(key, content, spec);
  }
  for (const literal of literals) {
    const eq = literal.indexOf('=');
    if (eq <= 0) throw new IsthmusError('ERR_SECRET_KEY', `invalid --from-literal "${literal}"`, { hint: 'write --from-literal=KEY=VALUE' });
    put(literal.slice(0, eq), Buffer.from(literal.slice(eq + 1)), literal);
  }
  return data;
}

function registerCreate(program: Command): void {
  const create = program.command('create')
    .description('create a secret (generic or tls) on the control plane; namespaces are accepted as a no-op')
    .option('-n, --namespace <ns>', 'namespace of the secret', 'default');

  create.command('namespace <name>')
    .alias('ns')
    .description('accepted for kubectl scripts: namespaces exist in Isthmus as soon as a resource names them')
    .action(action(async (name: string) => {
      process.stdout.write(`namespace/${name} created\n`);
    }));

  const secret = create.command('secret').description('create a Secret (a TLS credential for credentialName)');
  const send = async (cmd: Command, type: 'generic' | 'tls', name: string, data: Record<string, string>, dryRun: string | boolean | undefined) => {
    const namespace = cmd.optsWithGlobals<{ namespace: string }>().namespace;
    const client = await connect(cmd);
    await reportingProblems(async () => printResults(cmd, [await client.createSecret({ type, name, namespace, data, dryRun: dryRunMode(dryRun) })]));
  };

  secret.command('generic <name>')
    .description('a Secret from files and literals; for Istio credentials: --from-file=key=... --from-file=cert=... --from-file=cacert=...')
    .option('--from-file <[key=]path>', 'a key from a file (repeatable)', collect, [])
    .option('--from-literal <key=value>', 'a key from a literal value (repeatable)', collect, [])
    .option('--dry-run [mode]', 'validate only')
    .action(action(async (name: string, opts: { fromFile: string[]; fromLiteral: string[]; dryRun?: string | boolean }, cmd: Command) => {
      await send(cmd, 'generic', name, await fromFiles(opts.fromFile, opts.fromLiteral), opts.dryRun);
    }));

  secret.command('tls <name>')
    .description('a kubernetes.io/tls Secret (tls.crt, tls.key) from a certificate and its key')
    .requiredOption('--cert <file>', 'PEM certificate (chain)')
    .requiredOption('--key <file>', 'PEM private key')
    .option('--dry-run [mode]', 'validate only')
    .action(action(async (name: string, opts: { cert: string; key: string; dryRun?: string | boolean }, cmd: Command) => {
      await send(cmd, 'tls', name, await fromFiles([`tls.crt=${opts.cert}`, `tls.key=${opts.key}`], []), opts.dryRun);
    }));
}

/** apply, delete, get, create: the kubectl verbs for Istio config, served by the control plane's management API. */
export function registerConfigCommands(program: Command): void {
  registerApply(program);
  registerDelete(program);
  registerGet(program);
  registerCreate(program);
}
