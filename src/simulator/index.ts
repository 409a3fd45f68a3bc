// The simulator's public surface: what tests, the demo and bench import.

export type { AkskOptions } from './aksk.ts';
export type { FaultSpec, FaultTarget } from './faults.ts';
export type { IdentityOptions } from './identity.ts';
export type { Role } from './render.ts';
export type { RouteKind } from './routes.ts';
export { demoJobs, demoScenarios, liveMigrationScript, type DemoJob, type DemoScenario } from './scenarios.ts';
export type { ActionScript, EventResult, FaultScript, StepScript } from './script.ts';
export type { JobResult, JobScript, SubJobScript } from './jobs.ts';
export { startSimulator, type RecordedRequest, type Simulator, type SimulatorOptions } from './server.ts';
