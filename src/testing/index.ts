// Test kit for backend authors: run both suites against your Engine adapter (see README, "Adding a backend").
export { describeEngineContract, recordCalls, type EngineContractOptions, type EngineUnderTest } from './engine-contract.ts';
export {
  CONTRACT_USER,
  describeBackendContract,
  injectFaults,
  type BackendContractOptions,
  type BackendUnderTest,
  type InjectedFault,
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
} from './messages-api.ts';
export { describeClaudeProof, standInEnv, type ClaudeProofOptions, type ClaudeProofTarget } from './claude-proof.ts';
// The pipelock test double (no registry ships pipelock): point PIPELOCK_BIN or pipelockDaemon({ bin }) at it.
export { fakePipelockBin } from './pipelock.ts';
// The Engine port and the Transport, which the suites' signatures use: a backend author's imports in one place.
export type {
  ConfigIssue,
  Engine,
  EngineCapabilities,
  ExecOptions,
  ExecResult,
  GuestUser,
  HostRoute,
  HostRouteOptions,
  MachineConfig,
  MachineInfo,
  MachineRequest,
  MachineState,
  NetworkInfo,
  NetworkPolicy,
  UploadOptions,
} from '../engine/types.ts';
export type { CommandResult, RunOptions, Transport } from '../transport/types.ts';
