// Test kit for backend authors: run both suites against your Engine adapter (see README, "Adding a backend").
// vitest is a peer dependency: ./vitest.ts loads it first and says clearly when it is missing, so
// nothing here imports it statically (an unresolvable static import fails before any code runs).
export { describeEngineContract, recordCalls, type EngineContractOptions, type EngineUnderTest } from './engine-contract.ts';
export {
  CAPABILITY_REASONS,
  CONTRACT_USER,
  DEFAULT_TIMEOUTS,
  describeBackendContract,
  ENGINE_METHODS,
  execArgvs,
  faultyEngine,
  injectFaults,
  type BackendContractOptions,
  type BackendUnderTest,
  type ContractTimeouts,
  type EngineCall,
  type EngineMethod,
  type FaultyEngine,
  type InjectedFault,
  type TransportFaults,
} from './backend-contract.ts';
// The Messages API stand-in and the end-to-end proof that a bottled claude receives its prompt and skills.
export {
  allText,
  DEFAULT_REPLY,
  listedSkills,
  startMessagesApiStandIn,
  systemText,
  type MessagesApiStandIn,
  type MessagesApiStandInOptions,
  type RecordedRequest,
  type StandInReply,
} from './messages-api.ts';
export { describeClaudeProof, standInEnv, type ClaudeProofOptions, type ClaudeProofTarget } from './claude-proof.ts';
// The pipelock test double (no registry ships pipelock): point PIPELOCK_BIN at it.
export { fakePipelockBin } from './pipelock.ts';

// The Engine port and the Transport, which the suites' signatures use: a backend author's imports in one place.
export type {
  ConfigIssue,
  Engine,
  EngineCapabilities,
  ExecOptions,
  ExecResult,
  ForkBase,
  ForkBaseInfo,
  ForkClone,
  ForkResult,
  GuestUser,
  HostRoute,
  HostRouteOptions,
  MachineConfig,
  MachineInfo,
  MachineRequest,
  MachineState,
  NetworkInfo,
  NetworkPolicy,
  RouteCloser,
  RouteLeftover,
  UploadOptions,
} from '../engine/types.ts';
export type { CommandResult, RunOptions, Transport } from '../transport/types.ts';
