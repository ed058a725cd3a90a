/** The argv shapes of the modelled `smolvm machine` subcommands (`src/cli/machine.rs`, v1.9.2). */
import { cidr, duration, imageRef, nonZeroU32, oneOf, portMapping, unsigned, type CommandSpec, type OptionSpec } from './clap.ts';

const name: OptionSpec = { long: 'name', short: 'n', value: 'NAME' };

export const createSpec: CommandSpec = {
  path: 'machine create',
  usage: 'smolvm machine create [OPTIONS] [-- <COMMAND>...]',
  rest: { kind: 'last', name: 'COMMAND', required: false },
  options: [
    name,
    { long: 'label', value: 'KEY=VALUE', multiple: true },
    { long: 'image', short: 'I', value: 'IMAGE', parse: imageRef },
    { long: 'max-image-size', value: 'SIZE', unmodelled: true },
    { long: 'cpus', value: 'N', parse: unsigned(8) },
    { long: 'mem', value: 'MiB', parse: unsigned(32) },
    { long: 'storage', value: 'GiB', parse: unsigned(64) },
    { long: 'overlay', value: 'GiB', parse: unsigned(64) },
    { long: 'volume', short: 'v', value: 'HOST|REMOTE:GUEST[:ro]', multiple: true },
    { long: 'port', short: 'p', value: 'HOST:GUEST', multiple: true, parse: portMapping },
    { long: 'net' },
    { long: 'net-backend', value: 'NET_BACKEND', parse: oneOf(['tsi', 'virtio-net']) },
    { long: 'dns', value: 'IP', unmodelled: true },
    { long: 'network', value: 'NAME', unmodelled: true },
    { long: 'allow-cidr', value: 'CIDR', multiple: true, parse: cidr },
    { long: 'allow-host', value: 'HOSTNAME', multiple: true },
    { long: 'outbound-localhost-only' },
    { long: 'gpu', unmodelled: true },
    { long: 'gpu-vram', value: 'MiB', unmodelled: true },
    { long: 'rosetta', unmodelled: true },
    { long: 'expose-socket', value: 'GUEST_PATH[:HOST_PATH]', multiple: true, unmodelled: true },
    { long: 'mount-socket', value: 'HOST_PATH:GUEST_PATH', multiple: true, unmodelled: true },
    { long: 'init', value: 'COMMAND', multiple: true },
    { long: 'env', short: 'e', value: 'KEY=VALUE', multiple: true },
    { long: 'workdir', short: 'w', value: 'DIR' },
    { long: 'ssh-agent', unmodelled: true },
    { long: 'cuda', unmodelled: true },
    { long: 'auto-graph', unmodelled: true },
    { long: 'docker-socket', unmodelled: true },
    { long: 'secret-env', value: 'GUEST_VAR=HOST_VAR', multiple: true, unmodelled: true },
    { long: 'secret-file', value: 'GUEST_VAR=PATH', multiple: true, unmodelled: true },
    { long: 'smolfile', short: 's', value: 'PATH', unmodelled: true },
    { long: 'from', value: 'PATH', unmodelled: true, conflicts: ['image', 'smolfile'] },
  ],
};

export const startSpec: CommandSpec = {
  path: 'machine start',
  usage: 'smolvm machine start [OPTIONS]',
  options: [
    name,
    { long: 'forkable' },
    { long: 'fork-pool-size', value: 'CLONES', parse: nonZeroU32 },
    // clap `requires = "fork_pool_size"`, a rule the fake's parser lacks: refused instead.
    { long: 'cuda-vram-limit-mib', value: 'MIB', unmodelled: true },
    // Proxies only matter for pulls, and the fake's pulls are local: accepted and ignored.
    { long: 'proxy', value: 'URL' },
    { long: 'no-proxy', value: 'LIST' },
  ],
};

export const stopSpec: CommandSpec = { path: 'machine stop', usage: 'smolvm machine stop [OPTIONS]', options: [name] };

export const deleteSpec: CommandSpec = {
  path: 'machine delete',
  usage: 'smolvm machine delete [OPTIONS] --name <NAME>',
  required: ['name'],
  options: [name, { long: 'force', short: 'f' }, { long: 'cascade' }],
};

export const statusSpec: CommandSpec = {
  path: 'machine status',
  usage: 'smolvm machine status [OPTIONS]',
  options: [name, { long: 'json' }],
};

export const lsSpec: CommandSpec = {
  path: 'machine ls',
  usage: 'smolvm machine ls [OPTIONS]',
  options: [{ long: 'verbose', short: 'v' }, { long: 'json' }],
};

export const cpSpec: CommandSpec = {
  path: 'machine cp',
  usage: 'smolvm machine cp [OPTIONS] <SRC> <DST>',
  positionals: ['SRC', 'DST'],
  options: [
    { long: 'mode', value: 'OCTAL' },
    { long: 'uid', value: 'UID', parse: unsigned(32) },
    { long: 'gid', value: 'GID', parse: unsigned(32) },
  ],
};

export const execSpec: CommandSpec = {
  path: 'machine exec',
  usage: 'smolvm machine exec [OPTIONS] <COMMAND>...',
  rest: { kind: 'trailing', name: 'COMMAND', required: true },
  options: [
    // Long only: `exec -n` is a usage error (§1b `ExecCmd`).
    { long: 'name', value: 'NAME' },
    { long: 'workdir', short: 'w', value: 'DIR' },
    { long: 'env', short: 'e', value: 'KEY=VALUE', multiple: true },
    { long: 'secret-env', value: 'GUEST_VAR=HOST_VAR', multiple: true, unmodelled: true },
    { long: 'secret-file', value: 'GUEST_VAR=PATH', multiple: true, unmodelled: true },
    { long: 'timeout', value: 'DURATION', parse: duration },
    { long: 'interactive', short: 'i' },
    { long: 'tty', short: 't' },
    { long: 'stream' },
    { long: 'detach', short: 'd', conflicts: ['interactive', 'tty', 'stream'] },
  ],
};

/** `ForkCmd` (v1.9.2): one clone with `--name`, or a batch of `--count` with `--name-prefix`. */
export const forkSpec: CommandSpec = {
  path: 'machine fork',
  usage: 'smolvm machine fork [OPTIONS] --golden <NAME>',
  required: ['golden'],
  options: [
    { long: 'golden', value: 'NAME' },
    name,
    { long: 'count', value: 'COUNT', parse: nonZeroU32 },
    { long: 'name-prefix', value: 'PREFIX' },
    { long: 'parallel', value: 'COUNT', parse: nonZeroU32 },
    { long: 'wait-ready' },
    { long: 'hold' },
    { long: 'ready-timeout', value: 'DURATION', parse: duration },
    { long: 'forkable' },
    { long: 'port', short: 'p', value: 'HOST:GUEST', multiple: true, parse: portMapping },
    // CUDA weight sharing; the fake has no CUDA machine.
    { long: 'share-weights', unmodelled: true },
    { long: 'env', short: 'e', value: 'KEY=VALUE', multiple: true },
    { long: 'secret-env', value: 'GUEST_VAR=HOST_VAR', multiple: true, unmodelled: true },
    { long: 'secret-file', value: 'GUEST_VAR=PATH', multiple: true, unmodelled: true },
  ],
};

/** `ForkReleaseCmd` (v1.9.2). */
export const forkReleaseSpec: CommandSpec = {
  path: 'machine fork-release',
  usage: 'smolvm machine fork-release [OPTIONS] --name <NAME>',
  required: ['name'],
  options: [name, { long: 'env', short: 'e', value: 'KEY=VALUE', multiple: true }],
};

/** Real subcommands the fake does not model; they fail with an honest `Error:` line. */
export const UNMODELLED_SUBCOMMANDS = new Set(['run', 'egress-events', 'resize', 'update', 'images', 'prune', 'shell', 'monitor', 'network-test', 'data-dir']);

export const MACHINE_ALIASES: Readonly<Record<string, string>> = { rm: 'delete', list: 'ls', sh: 'shell' };
