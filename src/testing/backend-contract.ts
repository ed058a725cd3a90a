// The backend contract and its doubles; kept as one import path for backend authors' tests.
export { describeBackendContract } from './backend/suite.ts';
export { CONTRACT_USER, type BackendContractOptions, type BackendUnderTest, type CaseOptions } from './backend/context.ts';
export { CAPABILITY_REASONS, DEFAULT_TIMEOUTS, type ContractTimeouts } from './options.ts';
export {
  connectOutcome,
  ENGINE_METHODS,
  execArgvs,
  faultyEngine,
  hostGit,
  injectFaults,
  observeHostRoutes,
  type EngineCall,
  type EngineMethod,
  type FaultyEngine,
  type InjectedFault,
  type ObservedRoute,
  type TransportFaults,
} from './doubles.ts';
