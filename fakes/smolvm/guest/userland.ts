/** Program lookup for one fake: test-registered commands first, then `sh` and the applets. */
import { posix } from 'node:path';
import type { GuestFs, GuestUser } from '../guest-fs.ts';
import { APPLETS } from './applets.ts';
import {
  handlerProgram,
  type ChildSpec,
  type GuestCommandHandler,
  type GuestProcess,
  type GuestProgram,
} from './process.ts';
import { shProgram } from './shell.ts';

export interface GuestMachine {
  readonly name: string;
  readonly fs: GuestFs;
}

export interface LaunchSpec extends ChildSpec {
  readonly user: GuestUser;
  readonly signal: AbortSignal;
}

export class Userland {
  readonly #handlers = new Map<string, GuestProgram>();

  register(name: string, handler: GuestCommandHandler): void {
    this.#handlers.set(name, handlerProgram(handler));
  }

  /** Names the bare rootfs links into /bin. */
  builtinNames(): string[] {
    return ['sh', ...Object.keys(APPLETS)];
  }

  /** Programs are found by basename: `/bin/sh` and `sh` are the same program. */
  program(argv0: string): GuestProgram | undefined {
    const name = posix.basename(argv0);
    if (argv0 === '' || name === '') return undefined;
    return this.#handlers.get(name) ?? (name === 'sh' || name === 'ash' ? shProgram : APPLETS[name]);
  }

  which(name: string): string | undefined {
    if (name.includes('/')) return this.program(name) ? name : undefined;
    if (this.#handlers.has(name)) return `/usr/local/bin/${name}`;
    return this.program(name) ? `/bin/${name}` : undefined;
  }

  /** Start a program; `null` when argv[0] names nothing (the caller decides how that reads). */
  async launch(machine: GuestMachine, spec: LaunchSpec): Promise<number | null> {
    const program = this.program(spec.argv[0] ?? '');
    if (!program) return null;
    let stdin: Uint8Array | undefined;
    const process: GuestProcess = {
      argv: spec.argv,
      env: spec.env,
      cwd: spec.cwd,
      user: spec.user,
      fs: machine.fs,
      get stdin() {
        stdin ??= spec.stdin.take();
        return stdin;
      },
      stdinRef: spec.stdin,
      stdout: spec.stdout,
      stderr: spec.stderr,
      signal: spec.signal,
      machineName: machine.name,
      spawn: (child) => this.launch(machine, { ...child, user: spec.user, signal: spec.signal }),
      which: (name) => this.which(name),
    };
    return program(process);
  }
}
