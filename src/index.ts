// claude-bottle SDK: agent spec → prepare → launch → Bottle, over an injectable transport.
export { AgentSpecSchema, loadAgentFile, parseAgentSpec, type AgentSpec } from './agent/spec.ts';
export { agentStateDir } from './agent/state-dir.ts';
export { stateRoot } from './host/state.ts';
export { GitGatePlanSchema, PlanSchema, type GitGatePlan, type Plan } from './plan/plan.ts';
export { prepare, type PrepareOptions } from './plan/prepare.ts';
export { launch, LaunchError, NameTakenError, machineNameFor, type GitGateEndpoint, type LaunchOptions, type LaunchStep } from './bottle/launch.ts';
export { provisionFiles, type FileTransfer, type ProvisionedFiles } from './provision/files.ts';
export { ProvisionError } from './provision/error.ts';
export { removeOwnedMachine, removeOwnedNetwork, newLaunchId, ownLabels, type Owner, type Removal } from './engine/ownership.ts';
export { Bottle, BottleRemovedError, type BottleRecord, type BottleExecOptions } from './bottle/bottle.ts';
export { BottleRegistry } from './bottle/registry.ts';
export { provisionPrompt } from './provision/prompt.ts';
export { provisionCa, caEnv, CA_ENV, GUEST_CA_BUNDLE } from './provision/ca.ts';
export { provisionGit, gitProvisionArgv } from './provision/git.ts';
export { startGitGate, GATE_REPO_PATH, type GitGate, type GitGateOptions, type GitPushAttempt } from './daemons/gitgate/server.ts';
export { branchPrefixProblem, defaultBranchPrefix } from './daemons/gitgate/policy.ts';
export type { RefCommand, RefResult } from './daemons/gitgate/pktline.ts';
export {
  buildAgentImage,
  agentImageStatus,
  imageCacheDir,
  ImageBuildError,
  type AgentImageBuild,
  type AgentImageStatus,
  type BuildAgentImageOptions,
  type ImageBuildProgress,
} from './image/build.ts';
export { AGENT_IMAGE, AGENT_USER, CLAUDE_CODE_VERSION, NODE_VERSION, isAgentImage } from './image/recipe.ts';
export { BOTTLE_LABEL, LAUNCH_LABEL, AGENT_LABEL } from './engine/types.ts';
export type { ConfigIssue, Engine, EngineCapabilities, ExecOptions, ExecResult, GuestUser, HostRoute, HostRouteOptions, MachineConfig, MachineInfo, MachineRequest, MachineState, NetworkInfo, NetworkPolicy, UploadOptions } from './engine/types.ts';
export { SmolvmEngine, SMOLVM_HOST_ALIAS, type SmolvmEngineOptions, type SmolvmMachineJson } from './engines/smolvm/engine.ts';
export { DockerEngine, DockerError, probeDocker, type DockerEngineOptions } from './engines/docker/engine.ts';
export { PodmanEngine, PodmanError, probePodman, type PodmanEngineOptions } from './engines/podman/engine.ts';
export { containersConfPath, planContainersConf, type ContainersConfSetup } from './engines/podman/containers-conf.ts';
export { smolvmArgv, humantime, type CreateArgs, type ExecArgs, type UploadArgs } from './engines/smolvm/argv.ts';
export { SmolvmError, isSmolvmFailure, parseSmolvmStderr } from './engines/smolvm/errors.ts';
export {
  SMOLVM_MIN_VERSION,
  SmolvmVersionError,
  missingFeatures,
  parseSmolvmVersion,
  readSmolvmVersion,
  requireSmolvmVersion,
  type SmolvmVersion,
} from './engines/smolvm/version.ts';
export { createExecaTransport, type ExecaTransportOptions } from './transport/execa.ts';
export type { CommandResult, RunOptions, Transport } from './transport/types.ts';
export { BinaryNotFoundError, ClaudeBottleError, ConfigError, EngineCommandError, formatArgv, type EngineErrorKind } from './errors.ts';
export { packTar, unpackTar, type TarEntry } from './archive/tar.ts';
// The bundle: host-side daemons beside a bottle (pipelock egress proxy, git gate, supervise MCP server).
export { BundleError, daemonsCsv, startBundle, type Bundle, type BundleOptions } from './bundle/bundle.ts';
export {
  freePort,
  guestProbe,
  type Daemon,
  type DaemonName,
  type DaemonSpec,
  type StartedDaemon,
} from './daemon/daemon.ts';
export {
  mcpConfigFor,
  startSuperviseServer,
  superviseDaemon,
  SUPERVISE_TOOLS,
  type McpConfig,
  type SuperviseCall,
  type SuperviseDaemonSpec,
  type SuperviseServer,
  type SuperviseServerOptions,
} from './daemons/supervise/server.ts';
export { guestMcpConfigPath, provisionSupervise, superviseFlags, GUEST_MCP_CONFIG_FILE, type SuperviseProvisionOptions } from './provision/supervise.ts';
export { pipelockConfig, pipelockConfigYaml, type PipelockConfigInput } from './daemons/pipelock/config.ts';
export { PipelockConfigSchema, type PipelockConfigFile } from './daemons/pipelock/schema.ts';
export {
  findPipelock,
  pipelockDaemon,
  PipelockMissingError,
  PipelockStartError,
  requirePipelock,
  PIPELOCK_BIN_ENV,
  type PipelockDaemonOptions,
  type PipelockDaemonSpec,
} from './daemons/pipelock/daemon.ts';
export { proxyEnv, type ProxyEnvOptions } from './provision/proxy-env.ts';
