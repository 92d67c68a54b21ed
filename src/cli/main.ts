#!/usr/bin/env node
import { Command } from 'commander';
import { registerAnalyzeCommand } from './commands/analyze.js';
import { registerCaCommands } from './commands/ca.js';
import { registerConfigCommands } from './commands/config.js';
import { registerContextCommands } from './commands/contexts.js';
import { registerControlPlaneCommand } from './commands/controlplane.js';
import { registerInstallCommands } from './commands/install.js';
import { registerMeshCommands } from './commands/mesh.js';
import { registerProxyStatusCommands } from './commands/proxy-status.js';
import { registerProxyCommand } from './commands/proxy.js';
import { registerQuickstart } from './commands/quickstart.js';
import { registerVmCommands } from './commands/vm.js';
import { registerTraceCommand } from './commands/trace.js';

export function buildProgram(): Command {
  const program = new Command('isthmus')
    .description('Connect services across meshes, clusters, clouds and VMs with mutual TLS on every hop')
    .version('0.1.0')
    .option('-o, --output <format>', 'output format: table (default), json or yaml')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (text, write) => write(`error: ${text.replace(/^error: /, '')}`) });
  registerCaCommands(program);
  registerProxyCommand(program);
  registerQuickstart(program);
  registerContextCommands(program);
  registerConfigCommands(program);
  registerAnalyzeCommand(program);
  registerControlPlaneCommand(program);
  registerProxyStatusCommands(program);
  registerVmCommands(program);
  registerTraceCommand(program);
  registerMeshCommands(program);
  registerInstallCommands(program);
  return program;
}

await buildProgram().parseAsync(process.argv);
