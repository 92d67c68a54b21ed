#!/usr/bin/env node
import { Command } from 'commander';
import { registerCaCommands } from './commands/ca.js';
import { registerProxyCommand } from './commands/proxy.js';
import { registerQuickstart } from './commands/quickstart.js';

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
  return program;
}

await buildProgram().parseAsync(process.argv);
