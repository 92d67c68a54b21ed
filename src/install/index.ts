// isthmus install: plans from IstioOperators, per-mesh state, and the supervisor that runs the processes.
// It spawns `isthmus controlplane` / `isthmus proxy` processes; it never imports them.
export { isthmusHome, meshesDir, meshDirOf, meshFiles } from './layout.js';
export type { MeshFiles } from './layout.js';
export { ensureMeshRecord, readMeshRecord, writeMeshRecord, assignHosts, hostAddress, controlPlaneKey, gatewayKey, podName } from './mesh.js';
export type { MeshRecord } from './mesh.js';
export { buildPlan, planKeys, diffProcesses, isEmptyDiff, sameProcess, XDS_PORT, CA_PORT, MANAGEMENT_PORT } from './plan.js';
export type { MeshPlan, ProcessSpec, ProcessKind, ControlPlanePlan, PlanDiff, PlanInput } from './plan.js';
export {
  readInstalledOperators, saveInstalledOperator, removeInstalledOperator, resolveInstalled, readDesired, writeDesired, readStatus, readApplied, writeApplied,
} from './state.js';
export type { InstalledOperator, DesiredState, ProcessState, ProcessStatus, SupervisorStatus } from './state.js';
export { Supervisor } from './supervisor.js';
export { handOff, waitForProcesses, stopMesh, supervisorPid, startSupervisor, pidAlive, processAlive } from './control.js';
export type { WaitProgress } from './control.js';
