import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { parse, stringify } from 'yaml';
import { IsthmusError, formatTable, writeFileAtomic } from '../../common/index.js';
import { DEFAULT_MANAGEMENT_URL, ManagementClient } from '../../controlplane/index.js';
import { action, emit } from '../action.js';

/** One named control plane, as kubectl's contexts name clusters. */
export interface CliContext {
  readonly name: string;
  readonly server: string;
  readonly token?: string;
}

export interface ContextsFile {
  readonly currentContext?: string;
  readonly contexts: readonly CliContext[];
}

/** ISTHMUS_CONTEXTS, else ~/.isthmus/contexts.yaml. */
export function contextsPath(): string {
  return process.env['ISTHMUS_CONTEXTS'] || join(homedir(), '.isthmus', 'contexts.yaml');
}

function invalid(path: string, what: string): IsthmusError {
  return new IsthmusError('ERR_CONTEXTS_FILE', `${path}: ${what}`, { hint: `fix the file, or remove it and run isthmus config set-context NAME --server URL` });
}

export async function readContexts(path = contextsPath()): Promise<ContextsFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { contexts: [] };
    throw invalid(path, `cannot read: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parse(text) ?? {};
  } catch (err) {
    throw invalid(path, `not YAML: ${(err as Error).message}`);
  }
  const { 'current-context': current, contexts = [] } = doc as { 'current-context'?: unknown; contexts?: unknown };
  if (!Array.isArray(contexts)) throw invalid(path, 'contexts must be a list');
  contexts.forEach((c: unknown, i) => {
    const ctx = c as Partial<CliContext> | null;
    if (typeof ctx?.name !== 'string' || typeof ctx.server !== 'string') throw invalid(path, `contexts[${i}] needs a name and a server`);
  });
  return typeof current === 'string' && current ? { currentContext: current, contexts: contexts as CliContext[] } : { contexts: contexts as CliContext[] };
}

export async function writeContexts(file: ContextsFile, path = contextsPath()): Promise<void> {
  const doc = { ...(file.currentContext ? { 'current-context': file.currentContext } : {}), contexts: file.contexts };
  // Tokens are credentials: owner-only.
  await writeFileAtomic(path, stringify(doc), 0o600);
}

function checkServerUrl(server: string): string {
  // The client constructor refuses what is not an http(s) URL.
  return new ManagementClient({ server }).server;
}

interface GlobalOptions {
  context?: string;
  server?: string;
  token?: string;
}

/** Which control plane a command talks to: --server, then --context, then ISTHMUS_SERVER, then the current context. */
export async function resolveControlPlane(command: Command): Promise<{ server: string; token?: string; context?: string }> {
  const flags = command.optsWithGlobals<GlobalOptions>();
  const envToken = process.env['ISTHMUS_TOKEN'] || undefined;
  const withToken = (server: string, token?: string, context?: string) => {
    const t = flags.token ?? token ?? envToken;
    return { server, ...(t ? { token: t } : {}), ...(context ? { context } : {}) };
  };
  if (flags.server) return withToken(flags.server);
  const envServer = process.env['ISTHMUS_SERVER'] || undefined;
  if (flags.context === undefined && envServer) return withToken(envServer);
  const file = await readContexts();
  const name = flags.context ?? file.currentContext;
  if (name === undefined) return withToken(DEFAULT_MANAGEMENT_URL);
  const found = file.contexts.find((c) => c.name === name);
  if (!found) {
    throw new IsthmusError('ERR_CONTEXT_NOT_FOUND', `no context named "${name}" in ${contextsPath()}`, {
      hint: `create it with isthmus config set-context ${name} --server URL, or pick one of: ${file.contexts.map((c) => c.name).join(', ') || '(none yet)'}`,
    });
  }
  return withToken(found.server, found.token, found.name);
}

/** A management API client for the control plane the command's flags and contexts select. */
export async function connect(command: Command): Promise<ManagementClient> {
  const target = await resolveControlPlane(command);
  return new ManagementClient(target.token ? { server: target.server, token: target.token } : { server: target.server });
}

/** Global flags shared by every command that talks to a control plane. */
function registerGlobalOptions(program: Command): void {
  program
    .option('--context <name>', 'control plane context from the contexts file (isthmus config get-contexts)')
    .option('--server <url>', 'control plane management API URL (default: ISTHMUS_SERVER, else the current context)')
    .option('--token <token>', 'bearer token for the management API (default: ISTHMUS_TOKEN, else the context\'s)');
}

export function registerContextCommands(program: Command): void {
  registerGlobalOptions(program);
  const config = program.command('config').description(`manage control plane contexts (file: ISTHMUS_CONTEXTS or ~/.isthmus/contexts.yaml)`);

  config.command('set-context <name>')
    .description('create or change a context: which control plane (and token) commands talk to')
    .option('--server <url>', 'management API URL of the control plane, e.g. http://127.0.0.1:15014')
    .option('--token <token>', 'bearer token the control plane asks for')
    .action(action(async (name: string, _opts: unknown, cmd: Command) => {
      // --server and --token are global flags too; whichever parsed them, they mean this context's.
      const opts = cmd.optsWithGlobals<GlobalOptions>();
      const file = await readContexts();
      const existing = file.contexts.find((c) => c.name === name);
      const server = opts.server ?? existing?.server;
      if (!server) throw new IsthmusError('ERR_CONTEXT_SERVER', `context "${name}" needs a server`, { hint: `pass --server URL, e.g. isthmus config set-context ${name} --server http://127.0.0.1:15014` });
      const token = opts.token ?? existing?.token;
      const context: CliContext = { name, server: checkServerUrl(server), ...(token ? { token } : {}) };
      const contexts = existing ? file.contexts.map((c) => (c.name === name ? context : c)) : [...file.contexts, context];
      await writeContexts({ ...file, contexts });
      process.stdout.write(`Context "${name}" ${existing ? 'modified' : 'created'}.\n`);
    }));

  config.command('use-context <name>')
    .description('make a context the current one')
    .action(action(async (name: string) => {
      const file = await readContexts();
      if (!file.contexts.some((c) => c.name === name)) {
        throw new IsthmusError('ERR_CONTEXT_NOT_FOUND', `no context exists with the name: "${name}"`, { hint: `create it with isthmus config set-context ${name} --server URL` });
      }
      await writeContexts({ ...file, currentContext: name });
      process.stdout.write(`Switched to context "${name}".\n`);
    }));

  config.command('get-contexts')
    .description('list contexts; * marks the current one')
    .action(action(async (_opts: unknown, cmd: Command) => {
      const file = await readContexts();
      const contexts = file.contexts.map((c) => ({ name: c.name, server: c.server, current: c.name === file.currentContext, token: c.token ? 'REDACTED' : '' }));
      emit(cmd, { currentContext: file.currentContext ?? null, contexts }, () =>
        formatTable(['current', 'name', 'server', 'token'], contexts.map((c) => [c.current ? '*' : '', c.name, c.server, c.token ? 'yes' : ''])));
    }));

  config.command('current-context')
    .description('print the current context')
    .action(action(async () => {
      const file = await readContexts();
      if (!file.currentContext) throw new IsthmusError('ERR_NO_CURRENT_CONTEXT', 'current-context is not set', { hint: 'isthmus config use-context NAME' });
      process.stdout.write(`${file.currentContext}\n`);
    }));

  config.command('delete-context <name>')
    .description('remove a context')
    .action(action(async (name: string) => {
      const file = await readContexts();
      if (!file.contexts.some((c) => c.name === name)) {
        throw new IsthmusError('ERR_CONTEXT_NOT_FOUND', `no context exists with the name: "${name}"`, { hint: 'isthmus config get-contexts lists them' });
      }
      const rest = { contexts: file.contexts.filter((c) => c.name !== name) };
      await writeContexts(file.currentContext && file.currentContext !== name ? { ...rest, currentContext: file.currentContext } : rest);
      process.stdout.write(`deleted context ${name} from ${contextsPath()}\n`);
    }));
}
