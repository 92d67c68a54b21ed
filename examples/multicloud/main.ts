/** `npm run example:multicloud`: seed 000 end to end; exit 0 when every check passed. */
import { Scenario, runExample } from '../lib/scenario.js';
import { MULTICLOUD_STEPS, runMulticloud } from './scenario.js';

const scenario = new Scenario('Seed 000: sharing a private AWS Lambda with a GKE mesh through two Istio meshes', MULTICLOUD_STEPS);
await runExample(scenario, async () => {
  await runMulticloud(scenario);
});
