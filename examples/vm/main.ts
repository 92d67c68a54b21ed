/** `npm run example:vm`: seed 003 end to end; exit 0 when every check passed. */
import { Scenario, runExample } from '../lib/scenario.js';
import { VM_STEPS, runVm } from './scenario.js';

const scenario = new Scenario('Seed 003: a VM joins the mesh through the east-west gateway', VM_STEPS);
await runExample(scenario, async () => {
  await runVm(scenario);
});
