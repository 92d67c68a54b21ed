/**
 * isthmus install / uninstall / status: istioctl install on one machine. An IstioOperator becomes a
 * control plane and gateways run as processes by a per-mesh supervisor, each on its own loopback
 * address of the mesh's /24, with Istio's ports; the gateways' Services, the namespaces and the
 * MeshConfig are applied through the control plane, as istioctl's charts create them.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { formatOperatorIssue, readIstioOperator } from '../../api/index.js';
import { IsthmusError, formatData, formatTable } from '../../common/index.js';
import { ManagementClient, ManagementApiError, formatProblem } from '../../controlplane/index.js';
import {
  Supervisor, assignHosts, buildPlan, diffProcesses, ensureMeshRecord, handOff, isEmptyDiff, meshDirOf, meshFiles, meshesDir, planKeys,
  readApplied, readDesired, readInstalledOperators, readMeshRecord, readStatus, removeInstalledOperator, resolveInstalled, saveInstalledOperator, stopMesh,
  supervisorPid, waitForProcesses, writeApplied, writeMeshRecord,
} from '../../install/index.js';
import type { MeshFiles, MeshPlan, ProcessStatus, SupervisorStatus } from '../../install/index.js';
import { action, outputFormat } from '../action.js';
import { readContexts, writeContexts } from './contexts.js';

const say = (line: string) => process.stdout.write(`${line}\n`);
const SYNC_TIMEOUT_MS = 60_000;

async function readInput(file: string): Promise<string> {
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new IsthmusError('ERR_READ_INPUT', `cannot read ${file}: ${(err as Error).message}`, { hint: 'check the path given with -f' });
  }
}

/** --context, else the current context: install needs a name for the mesh. */
async function contextName(cmd: Command): Promise<string> {
  const flag = cmd.optsWithGlobals<{ context?: string }>().context;
  if (flag) return flag;
  const current = (await readContexts()).currentContext;
  if (current) return current;
  throw new IsthmusError('ERR_NO_CONTEXT', 'which mesh? no --context given and no current context', { hint: 'pass --context NAME (the mesh is created under that name)' });
}

/** The CLI script that the supervisor runs its processes with (this one). */
function cliPath(): string {
  return resolve(process.argv[1] ?? '');
}

/** Points the context at the control plane (a new context, or a changed server). */
async function setContext(name: string, server: string): Promise<string> {
  const file = await readContexts();
  const existing = file.contexts.find((c) => c.name === name);
  if (existing?.server === server) return `context "${name}" points at ${server}`;
  const context = { name, server };
  const contexts = existing ? file.contexts.map((c) => (c.name === name ? context : c)) : [...file.contexts, context];
  await writeContexts({ ...file, contexts, ...(file.currentContext ? {} : { currentContext: name }) });
  return `context "${name}" ${existing ? 'now points' : 'created, pointing'} at ${server}`;
}

/** A new revision's control plane shares the mesh's CA (one root of trust per mesh, as istiod revisions share cacerts). */
function shareCa(files: MeshFiles, plan: MeshPlan): void {
  const dirs = plan.controlPlanes.map((cp) => files.controlPlaneState(cp.revision));
  const source = dirs.find((d) => existsSync(join(d, 'ca', 'root', 'root-key.pem')));
  if (!source) return;
  for (const dir of dirs) {
    if (dir === source || existsSync(join(dir, 'ca'))) continue;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    cpSync(join(source, 'ca'), join(dir, 'ca'), { recursive: true });
  }
}

function planFor(context: string, files: MeshFiles, record: Awaited<ReturnType<typeof ensureMeshRecord>>, installed: ReturnType<typeof readInstalledOperators>) {
  const operators = resolveInstalled(installed);
  const withHosts = assignHosts(record, planKeys(operators));
  return { plan: buildPlan({ context, files, record: withHosts, operators }), record: withHosts };
}

function describeProcess(p: { name: string; kind: string; address: string; ports: string; revision: string }): string {
  return `${p.name} (${p.kind}${p.revision ? `, revision ${p.revision}` : ''}) ${p.address} [${p.ports}]`;
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} (y/N) `)).trim());
  } finally {
    rl.close();
  }
}

/** Applies each control plane's resources; deletes the ones a previous install applied and this plan dropped. */
async function applyResources(files: MeshFiles, plan: MeshPlan): Promise<void> {
  const applied = readApplied(files);
  const next: Record<string, string[]> = {};
  for (const cp of plan.controlPlanes) {
    const client = new ManagementClient({ server: cp.managementUrl });
    const existing = new Set((await client.resources({ kind: 'Namespace' })).items.map((i) => i.resource.metadata.name));
    const namespaces = cp.namespaces.filter((ns) => !existing.has(ns));
    const docs = [...namespaces.map((ns) => stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } })), ...(cp.manifests ? [cp.manifests] : [])];
    if (docs.length > 0) {
      try {
        const result = await client.apply(docs.join('---\n'), { source: `install (${cp.process})` });
        for (const w of result.warnings) say(`  warning: ${formatProblem(w)}`);
        for (const r of result.results) say(`  ${r.kind.toLowerCase()}/${r.namespace ? `${r.namespace}/` : ''}${r.name} ${r.action}`);
      } catch (err) {
        if (err instanceof ManagementApiError && err.problems.length > 0) process.stderr.write(`${err.problems.map(formatProblem).join('\n')}\n`);
        throw err;
      }
    }
    const dropped = (applied[cp.revision] ?? []).filter((r) => !cp.resources.includes(r));
    if (dropped.length > 0) {
      const refs = dropped.map((r) => {
        const [kind = '', namespace = '', name = ''] = r.split('/');
        return { kind, name, ...(namespace ? { namespace } : {}) };
      });
      const result = await client.delete({ resources: refs, ignoreNotFound: true });
      for (const r of result.results) say(`  ${r.kind.toLowerCase()}/${r.namespace ? `${r.namespace}/` : ''}${r.name} ${r.action}`);
    }
    next[cp.revision] = [...cp.resources];
  }
  await writeApplied(files, next);
}

interface StatusRow { name: string; types: Record<string, { state?: string } | undefined> }

/** Waits until every gateway is SYNCED (CDS and LDS) in its control plane's proxy-status. */
async function waitForGateways(plan: MeshPlan): Promise<void> {
  for (const cp of plan.controlPlanes) {
    if (cp.gateways.length === 0) continue;
    const client = new ManagementClient({ server: cp.managementUrl, timeoutMs: 5_000 });
    const deadline = Date.now() + SYNC_TIMEOUT_MS;
    const reported = new Set<string>();
    for (;;) {
      let rows: StatusRow[] = [];
      try {
        rows = (await client.proxyStatus()) as StatusRow[];
      } catch {
        // the control plane may be restarting; try again
      }
      const synced = (name: string) => {
        const row = rows.find((r) => r.name === name);
        return row?.types['CDS']?.state === 'SYNCED' && row.types['LDS']?.state === 'SYNCED';
      };
      for (const gw of cp.gateways) {
        if (!reported.has(gw) && synced(gw)) {
          reported.add(gw);
          say(`✔ ${gw} SYNCED with ${cp.process}`);
        }
      }
      if (cp.gateways.every(synced)) break;
      if (Date.now() > deadline) {
        const missing = cp.gateways.filter((g) => !synced(g));
        throw new IsthmusError('ERR_INSTALL_TIMEOUT', `not SYNCED after ${SYNC_TIMEOUT_MS / 1000} s: ${missing.join(', ')}`, { hint: `isthmus --context ${plan.context} proxy-status shows their state; their logs are in the mesh's logs/ directory` });
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

function uptime(startedAt: string | null, state: string): string {
  if (!startedAt || state === 'stopped' || state === 'backoff') return '-';
  const s = Math.max(0, Math.round((Date.now() - Date.parse(startedAt)) / 1000));
  return s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)}m${s % 60}s` : `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}

interface MeshView {
  context: string;
  subnet: string | null;
  stateDir: string;
  supervisor: { pid: number | null; running: boolean };
  processes: ProcessStatus[];
}

function meshView(context: string, files: MeshFiles): MeshView {
  const record = readMeshRecord(files.dir);
  const pid = supervisorPid(files);
  const status: SupervisorStatus | undefined = pid === undefined ? undefined : readStatus(files);
  return {
    context, subnet: record ? `127.0.${record.subnet}.0/24` : null, stateDir: files.dir,
    supervisor: { pid: pid ?? null, running: pid !== undefined }, processes: [...(status?.processes ?? [])],
  };
}

export function registerInstallCommands(program: Command): void {
  program
    .command('install')
    .description('install a mesh from an IstioOperator (istioctl install): control plane and gateways as supervised processes on this machine')
    .requiredOption('-f, --filename <file>', "the IstioOperator ('-' reads standard input)")
    .option('-r, --revision <rev>', 'control plane revision (e.g. 1-17); the same as spec.revision')
    .option('-y, --skip-confirmation', 'do not ask before installing')
    .option('--state-dir <dir>', 'where the mesh keeps its state (default $ISTHMUS_HOME/meshes/<context>, ISTHMUS_HOME defaults to ~/.isthmus)')
    .action(action(async (opts: { filename: string; revision?: string; skipConfirmation?: boolean; stateDir?: string }, cmd: Command) => {
      const context = await contextName(cmd);
      const text = await readInput(opts.filename);
      const read = readIstioOperator(text, opts.revision === undefined ? {} : { revision: opts.revision });
      const source = opts.filename === '-' ? '<stdin>' : opts.filename;
      for (const i of read.issues) process.stderr.write(`${source}: ${formatOperatorIssue(i)}\n`);
      const errors = read.issues.filter((i) => !i.warning);
      if (errors.length > 0) {
        throw new IsthmusError('ERR_OPERATOR_INVALID', `IstioOperator ${read.name}: ${errors.length} error${errors.length > 1 ? 's' : ''}; nothing was installed`, { hint: 'fix the fields named above' });
      }
      const files = meshFiles(meshDirOf(context, opts.stateDir));
      mkdirSync(files.dir, { recursive: true, mode: 0o700 });
      const record = await ensureMeshRecord(files.dir, context);
      const installed = readInstalledOperators(files);
      const previous = installed.find((op) => op.name === read.name && op.revision === read.revision);
      const sameDocument = previous !== undefined && JSON.stringify(previous.document) === JSON.stringify(read.document);
      const entry = { name: read.name, revision: read.revision, installedAt: previous?.installedAt ?? new Date().toISOString(), document: read.document };
      const nextInstalled = previous ? installed.map((op) => (op === previous ? entry : op)) : [...installed, entry];
      const { plan, record: withHosts } = planFor(context, files, record, nextInstalled);
      const before = readDesired(files)?.processes ?? [];
      const running = supervisorPid(files) !== undefined;
      const diff = diffProcesses(running ? before : [], plan.processes);
      const label = `IstioOperator ${read.name}${read.revision ? ` (revision ${read.revision})` : ''}`;

      say(`mesh ${context}: ${plan.subnet}, state in ${files.dir}`);
      if (sameDocument && isEmptyDiff(diff)) {
        say(`✔ ${label} is already installed as written: no process to add, restart or remove`);
      } else {
        say(`${previous ? 'updating' : 'installing'} ${label} (profile ${read.profile})`);
        for (const p of diff.added) say(`  + ${describeProcess(p)}`);
        for (const p of diff.changed) say(`  ~ ${describeProcess(p)} (restarted: arguments changed)`);
        for (const p of diff.removed) say(`  - ${describeProcess(p)}`);
        if (isEmptyDiff(diff)) say('  no process changes');
        if (!opts.skipConfirmation && process.stdin.isTTY && opts.filename !== '-') {
          if (!(await confirm(`Proceed with the installation into mesh ${context}?`))) {
            say('cancelled: nothing changed');
            return;
          }
        }
      }
      await writeMeshRecord(files.dir, withHosts);
      await saveInstalledOperator(files, entry);
      shareCa(files, plan);
      const handed = await handOff(files, plan.processes, cliPath());
      if (handed.started) say(`supervisor started (pid ${handed.supervisor}); logs in ${files.logs}`);
      // Progress for what this install starts, and for anything that changes state while it waits.
      const changing = new Set([...diff.added, ...diff.changed].map((p) => p.name));
      await waitForProcesses(files, handed.generation, plan.processes.map((p) => p.name), (p, prev) => {
        if (p.state === 'running' && (prev ? prev.state !== 'running' : changing.has(p.name))) say(`✔ ${p.name} running (pid ${p.pid}) on ${p.address} [${p.ports}]`);
        else if (p.state === 'backoff' && prev?.state !== 'backoff') say(`  ${p.name} exited (${p.lastExit ?? '?'}); the supervisor restarts it — see ${p.log}`);
      });
      await applyResources(files, plan);
      const own = plan.controlPlanes.find((cp) => cp.revision === read.revision);
      if (own) say(`✔ ${await setContext(context, own.managementUrl)}`);
      await waitForGateways(plan);
      say(sameDocument && isEmptyDiff(diff) ? '✔ Installation unchanged' : '✔ Installation complete');
    }));

  program
    .command('uninstall')
    .description('stop and remove what install put in a mesh (all, or one revision); state stays under the mesh dir unless --purge')
    .option('-r, --revision <rev>', 'only this revision')
    .option('--purge', 'also remove the mesh\'s state dir (control plane config, CA, logs)')
    .option('--state-dir <dir>', 'the mesh\'s state dir (default $ISTHMUS_HOME/meshes/<context>)')
    .action(action(async (opts: { revision?: string; purge?: boolean; stateDir?: string }, cmd: Command) => {
      const context = await contextName(cmd);
      const files = meshFiles(meshDirOf(context, opts.stateDir));
      if (!existsSync(files.dir)) throw new IsthmusError('ERR_NOT_INSTALLED', `nothing is installed in mesh ${context} (${files.dir})`, { hint: 'isthmus status lists installed meshes' });
      const installed = readInstalledOperators(files);
      const remove = opts.revision === undefined ? installed : installed.filter((op) => op.revision === (opts.revision === 'default' ? '' : opts.revision));
      if (opts.revision !== undefined && remove.length === 0) {
        throw new IsthmusError('ERR_NOT_INSTALLED', `revision ${opts.revision} is not installed in mesh ${context}`, { hint: `installed: ${[...new Set(installed.map((o) => o.revision || 'default'))].join(', ') || 'nothing'}` });
      }
      const rest = installed.filter((op) => !remove.includes(op));
      const record = readMeshRecord(files.dir);
      if (rest.length > 0 && record) {
        const { plan } = planFor(context, files, record, rest);
        for (const op of remove) removeInstalledOperator(files, op.name, op.revision);
        const before = readDesired(files)?.processes ?? [];
        for (const p of diffProcesses(before, plan.processes).removed) say(`- ${describeProcess(p)}`);
        const handed = await handOff(files, plan.processes, cliPath());
        await waitForProcesses(files, handed.generation, plan.processes.map((p) => p.name), () => undefined);
        say(`✔ revision ${opts.revision} removed from mesh ${context}; ${plan.processes.length} process(es) still running`);
      } else {
        const { stopped } = await stopMesh(files);
        for (const name of stopped) say(`✔ ${name} stopped`);
        for (const op of remove) removeInstalledOperator(files, op.name, op.revision);
        rmSync(files.desired, { force: true });
        rmSync(files.applied, { force: true });
        // The context pointed at this mesh's control plane, which is gone.
        const contexts = await readContexts();
        const ctx = contexts.contexts.find((c) => c.name === context);
        if (ctx && record && ctx.server.includes(`//127.0.${record.subnet}.`)) {
          const left = contexts.contexts.filter((c) => c.name !== context);
          await writeContexts({ contexts: left, ...(contexts.currentContext && contexts.currentContext !== context ? { currentContext: contexts.currentContext } : {}) });
          say(`✔ context "${context}" removed`);
        }
        say(`✔ mesh ${context} uninstalled${opts.purge ? '' : `; its state stays in ${files.dir} (--purge removes it)`}`);
      }
      if (opts.purge && rest.length === 0) {
        rmSync(files.dir, { recursive: true, force: true });
        say(`✔ ${files.dir} removed`);
      }
    }));

  program
    .command('status')
    .description('the processes of installed meshes (all, or --context): name, kind, revision, pid, address and ports, uptime, restarts, state')
    .option('--state-dir <dir>', 'one mesh\'s state dir')
    .action(action(async (opts: { stateDir?: string }, cmd: Command) => {
      const flag = cmd.optsWithGlobals<{ context?: string }>().context;
      let meshes: MeshView[];
      if (flag || opts.stateDir) meshes = [meshView(flag ?? '', meshFiles(meshDirOf(flag ?? '', opts.stateDir)))];
      else meshes = existsSync(meshesDir()) ? readdirSync(meshesDir()).sort().map((name) => meshView(name, meshFiles(join(meshesDir(), name)))) : [];
      const format = outputFormat(cmd);
      if (format !== 'table') {
        process.stdout.write(formatData({ meshes }, format));
        return;
      }
      if (meshes.length === 0) {
        say('no mesh is installed (isthmus --context NAME install -f FILE installs one)');
        return;
      }
      for (const m of meshes) {
        say(`mesh ${m.context || m.stateDir}: ${m.subnet ?? '-'}, supervisor ${m.supervisor.running ? `pid ${m.supervisor.pid}` : 'not running'}`);
        process.stdout.write(formatTable(['NAME', 'KIND', 'REVISION', 'PID', 'ADDRESS/PORTS', 'UPTIME', 'RESTARTS', 'STATE'],
          m.processes.map((p) => [p.name, p.kind, p.revision || 'default', p.pid === null ? '-' : String(p.pid), `${p.address}:${p.ports}`, uptime(p.startedAt, p.state), String(p.restarts), p.state])));
      }
    }));

  program
    .command('__supervise', { hidden: true })
    .description('run a mesh\'s processes (started by isthmus install)')
    .requiredOption('--state-dir <dir>', 'the mesh\'s state dir')
    .action(action(async (opts: { stateDir: string }) => {
      await new Supervisor(resolve(opts.stateDir), cliPath()).run();
    }));
}
