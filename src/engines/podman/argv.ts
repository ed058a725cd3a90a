/**
 * podman's argv: the shared container-CLI builder for the `podman` binary. Two quirks: `cp`
 * chowns what it copies to the container's user unless `--archive=false` (the tar's owners are
 * the point of an upload), and an internal network gets no DNS forwarder (`--disable-dns`):
 * the guest dials the gateway by address, and aardvark-dns would resolve outside names for it.
 */
import { type ContainerCliArgs, containerArgv } from '../container/argv.ts';

export const PODMAN = 'podman';

export const PODMAN_ARGS: ContainerCliArgs = { program: PODMAN, copyInFlags: ['--archive=false'], networkCreateFlags: ['--disable-dns'] };

export const podmanArgv = {
  ...containerArgv(PODMAN_ARGS),
  /** podman has no daemon: `info` answers when its storage and runtime config can be read. */
  version: (): string[] => [PODMAN, 'info', '--format', '{{.Version.Version}}'],
};
