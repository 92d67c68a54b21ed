/**
 * `npm start`: both seeds as a guided demo. Each step is shown with its result; everything stays up
 * until Ctrl-C, then every process is stopped and every file removed.
 */
import { Scenario, StepFailed } from './lib/scenario.js';
import { MULTICLOUD_STEPS, runMulticloud } from './multicloud/scenario.js';
import { VM_STEPS, runVm } from './vm/scenario.js';

const multicloud = new Scenario('1/2  Seed 000: a private AWS Lambda shared with a GKE mesh, mTLS between two meshes with no shared root', MULTICLOUD_STEPS);
const vm = new Scenario('2/2  Seed 003: a VM joins the mesh through the east-west gateway', VM_STEPS);
const scenarios = [multicloud, vm];

let stopping = false;
async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    process.stdout.write('\nstopping every process of the demo and removing its files ...\n');
    for (const s of scenarios) await s.close();
    process.stdout.write('done.\n');
  }
  process.exit(code);
}
process.once('SIGINT', () => void stop(0));
process.once('SIGTERM', () => void stop(0));

try {
  multicloud.banner();
  const first = await runMulticloud(multicloud);
  vm.banner();
  const second = await runVm(vm);
  process.stdout.write('\nBoth meshes and the VM are running. Try, in another terminal:\n');
  for (const c of [...first.tryCommands, ...second.tryCommands]) process.stdout.write(`  ${c}\n`);
  process.stdout.write('\nCtrl-C stops everything and cleans up.\n');
  await new Promise<void>(() => undefined);
} catch (err) {
  const step = err instanceof StepFailed ? err.step : 'setup';
  process.stderr.write(`\nstep "${step}" failed:\n${(err as Error).message}\n`);
  await stop(1);
}
