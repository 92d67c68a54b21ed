import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../helpers/index.js';
import { accepts } from './helpers/processes.js';

interface ExampleRun { code: number | null; stdout: string; stderr: string }

/** Runs an example the way `npm run example:NAME` does. */
function runExample(name: string): Promise<ExampleRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(PROJECT_ROOT, 'dist', 'examples', name, 'main.js')], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const workDirOf = (out: string) => /work dir (\S+)/.exec(out)?.[1];

describe('examples', { timeout: 180_000 }, () => {
  it('seed 000 (multicloud): every step passes, then nothing is left running and no file is left behind', async () => {
    const run = await runExample('multicloud');
    if (run.code !== 0) console.log(run.stdout, run.stderr);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/\[10\/10\] trace the request across both meshes \.\.\. ok/);
    expect(run.stdout).toMatch(/https\.443\.https\.eastwestgateway\.istio-ingress\s+lambda\.external\s+\/\*\s+vs-lambda\.istio-ingress/);
    expect(run.stdout).toMatch(/http\.8080\s+lambda\.external\s+\/\*\s+direct-lambda-through-egress-gateway\.istio-egress/);
    expect(run.stdout).toMatch(/HTTP\/1\.1 200/);
    expect(run.stdout).toMatch(/every check passed/);
    for (const [host, port] of [['127.0.20.1', 15014], ['127.0.10.1', 15010], ['127.0.20.2', 8443], ['127.0.10.2', 8080], ['127.0.20.100', 8443]] as const) {
      expect(await accepts(host, port), `${host}:${port} still listening`).toBe(false);
    }
    const workDir = workDirOf(run.stdout);
    expect(workDir).toBeDefined();
    expect(existsSync(workDir as string)).toBe(false);
  });

  it('seed 003 (vm): every step passes, then nothing is left running', async () => {
    const run = await runExample('vm');
    if (run.code !== 0) console.log(run.stdout, run.stderr);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/SNI: outbound_\.80_\._\.frontend\.simple-app\.svc\.cluster\.local/);
    expect(run.stdout).toMatch(/a journey across the mesh awaits you/);
    expect(run.stdout).toMatch(/every check passed/);
    for (const [host, port] of [['127.0.30.1', 15014], ['127.0.30.2', 15443], ['127.0.30.100', 8080]] as const) {
      expect(await accepts(host, port), `${host}:${port} still listening`).toBe(false);
    }
    expect(existsSync(workDirOf(run.stdout) as string)).toBe(false);
  });

  it('npm start: both seeds come up and stay up; Ctrl-C (SIGINT) stops every process and removes every file', async () => {
    const child = spawn(process.execPath, [join(PROJECT_ROOT, 'dist', 'examples', 'demo.js')], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        if (stdout.includes('Ctrl-C stops everything')) resolve();
      });
      void exited.then(() => reject(new Error(`the demo exited before it was up:\n${stdout}\n${stderr}`)));
    });
    expect(stdout).toMatch(/\[10\/10\] trace the request across both meshes \.\.\. ok/);
    expect(stdout).toMatch(/\[9\/9\] the access log of every hop shows the requests \.\.\. ok/);
    // Still serving while it waits: the VM's frontend call goes through.
    const frontend = await fetch('http://127.0.30.100:8080/frontend');
    expect(frontend.status).toBe(200);
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    for (const [host, port] of [['127.0.20.1', 15014], ['127.0.10.2', 8080], ['127.0.30.2', 15443], ['127.0.30.100', 8080]] as const) {
      expect(await accepts(host, port), `${host}:${port} still listening`).toBe(false);
    }
    for (const match of stdout.matchAll(/work dir (\S+)/g)) expect(existsSync(match[1] as string)).toBe(false);
  });

  it('a failing step makes the example exit non-zero naming the step, and cleans up', async () => {
    // The private ALB's address is taken: the first step cannot start the ALB.
    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(8443, '127.0.20.100', resolve));
    try {
      const run = await runExample('multicloud');
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/step "create the Lambda function behind a private ALB/);
      expect(run.stderr).toMatch(/EADDRINUSE/);
      expect(existsSync(workDirOf(run.stdout) as string)).toBe(false);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });
});
