// Builds dist/ once before the suite, so CLI tests run the code under test, not a stale build.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = fileURLToPath(new URL('../', import.meta.url));
  for (const project of ['tsconfig.build.json', 'examples/tsconfig.json']) {
    const result = spawnSync('npx', ['tsc', '-p', project], { cwd: root, encoding: 'utf8' });
    if (result.status !== 0) {
      throw new Error(`npx tsc -p ${project} failed (exit ${result.status}):\n${result.stdout}${result.stderr}${result.error?.message ?? ''}`);
    }
  }
}
