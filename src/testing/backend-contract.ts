// The backend contract and its doubles; kept as one import path for backend authors' tests.
export { describeBackendContract } from './backend/suite.ts';
export { CONTRACT_USER, type BackendContractOptions, type BackendUnderTest } from './backend/context.ts';
export { connectOutcome, hostGit, injectFaults, observeHostRoutes, type InjectedFault, type ObservedRoute } from './doubles.ts';
