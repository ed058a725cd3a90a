// claude-bottle's public API (etc/claude-bottle.api.md is its report; `npm run api:check` in CI).
// For SDK users: agent spec → prepare → launch → Bottle, the engines and the transport, the
// registry the CLI keeps, the agent image, and the errors to catch. For backend authors: the
// Engine port, capabilities and ownership labels (the test kit is `claude-bottle/testing`).
// Everything else (argv builders, archives, daemons' internals) is not part of it.

// Agent spec and plan.
export { AgentSpecSchema, loadAgentFile, parseAgentSpec, type AgentSpec, type AgentSpecInput, type LoadAgentFileOptions } from './agent/spec.ts';
export { GitGatePlanSchema, PLANNED_MODE_MASK, PlanSchema, type GitGatePlan, type Plan } from './plan/plan.ts';
export { prepare, type PrepareOptions } from './plan/prepare.ts';
export * from './agent/limits.ts';
export { BOTTLE_NAME_RULE, bottleNameProblem, PROTECTED_GUEST_DIRS } from './agent/names.ts';

// Launch and the bottle.
export { launch, LaunchError, NameTakenError, type GitGateEndpoint, type LaunchOptions, type LaunchStep } from './bottle/launch.ts';
export type { FileTransfer } from './provision/files.ts';
export {
  Bottle,
  BottleFrozenError,
  BottleHasForksError,
  BottleRemovedError,
  type BottleDaemons,
  type BottleExecOptions,
  type BottleRecord,
  type ForkOptions,
} from './bottle/bottle.ts';
export { FORK_OF_LABEL, ForkError, MAX_FORKS, type ForkStep } from './bottle/fork.ts';
export { BottleRegistry } from './bottle/registry.ts';
export { stateRoot, type Env } from './host/state.ts';
export type { AgentFileFs, HostFileHandle, HostFs, HostStats } from './host/fs.ts';

// Engines and the transport.
export { SmolvmEngine, type SmolvmEngineOptions } from './engines/smolvm/engine.ts';
export { SmolvmError } from './engines/smolvm/errors.ts';
export {
  readSmolvmVersion,
  requireSmolvmVersion,
  SMOLVM_MIN_VERSION,
  SmolvmVersionError,
  type SmolvmFeatures,
  type SmolvmVersion,
} from './engines/smolvm/version.ts';
export { DockerEngine, DockerError, probeDocker, type DockerEngineOptions } from './engines/docker/engine.ts';
export { PodmanEngine, PodmanError, probePodman, type PodmanEngineOptions } from './engines/podman/engine.ts';
export { ContainerEngine, type ContainerEngineOptions, type EnvSource, type RouteHook } from './engines/container/engine.ts';
// The container-CLI kit Docker and Podman are built from: another container CLI (nerdctl, …) can be too.
export type { ContainerCli, ContainerNetwork, FailedCommand, ParsedNetwork } from './engines/container/cli.ts';
export type { CliEnvNames } from './engines/container/env.ts';
export {
  containerArgv,
  type ContainerArgv,
  type ContainerCliArgs,
  type CreateArgs as ContainerCreateArgs,
  type ExecArgs as ContainerExecArgs,
  type GuestIds,
} from './engines/container/argv.ts';
export type { ImageCli } from './engines/container/images.ts';
export type { ContainersConfSetup, LimitFacts } from './engines/podman/containers-conf.ts';
export type { ForkFeatures } from './engines/smolvm/fork.ts';
export { FirewallUnavailableError, IptablesFirewall, type BridgeRoute, type HostFirewall, type IptablesFirewallOptions } from './engines/container/firewall.ts';
export { createProcessTransport, type ProcessTransportOptions } from './transport/process.ts';
/** The earlier name of `createProcessTransport`. */
export { createExecaTransport, type ExecaTransportOptions } from './transport/execa.ts';
export type { CommandResult, RunOptions, Transport } from './transport/types.ts';

// The agent image.
export {
  agentImageStatus,
  buildAgentImage,
  ImageBuildError,
  type AgentImageBuild,
  type AgentImageStatus,
  type BuildAgentImageOptions,
  type ImageBuildProgress,
  type ImageBuildStep,
  type ImageBuildStepReport,
} from './image/build.ts';
export { AGENT_IMAGE, AGENT_USER, type ImageArch } from './image/recipe.ts';

// Errors.
export { BinaryNotFoundError, ClaudeBottleError, ConfigError, EngineCommandError, type EngineErrorKind } from './errors.ts';
export { ProvisionError } from './provision/error.ts';
export { BundleError } from './bundle/bundle.ts';
export type { DaemonName } from './daemon/daemon.ts';
export { PipelockMissingError, PipelockStartError } from './daemons/pipelock/daemon.ts';

// For backend authors: the Engine port, and the labels by which a launch owns what it creates.
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
} from './engine/types.ts';
export { AGENT_LABEL, BOTTLE_LABEL, LAUNCH_LABEL } from './engine/types.ts';
export { newLaunchId, ownLabels, removeOwnedMachine, removeOwnedNetwork, type Owner, type Removal } from './engine/ownership.ts';
