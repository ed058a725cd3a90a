/** Program lookup for one fake: test-registered commands first, then `sh` and the applets. */
import { posix } from 'node:path';
import type { GuestFs, GuestUser } from '../guest-fs.ts';
import { APPLETS } from './applets.ts';
import type { GuestNetwork } from './process.ts';
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
  /** What the guest's sockets reach (see GuestNetwork). */
  readonly network?: GuestNetwork;
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

  /**
   * What argv[0] runs: a built-in or registered program by basename, else an executable `#!`
   * script in the guest fs (by path, or searched on `PATH`), run by its interpreter as the kernel would.
   */
  resolve(
    machine: GuestMachine,
    spec: Pick<LaunchSpec, 'argv' | 'env' | 'cwd' | 'user'>,
  ): { program: GuestProgram; argv: readonly string[] } | undefined {
    const argv0 = spec.argv[0] ?? '';
    const builtin = this.program(argv0);
    if (builtin) return { program: builtin, argv: spec.argv };
    if (argv0 === '') return undefined;
    const dirs = argv0.includes('/') ? [''] : (spec.env.PATH ?? '').split(':').filter(Boolean);
    for (const dir of dirs) {
      const path = posix.resolve(spec.cwd, dir, argv0);
      const interpreter = machine.fs.as(spec.user, () => shebang(machine.fs, path));
      const program = interpreter !== undefined ? this.program(interpreter) : undefined;
      if (interpreter !== undefined && program) return { program, argv: [interpreter, path, ...spec.argv.slice(1)] };
    }
    return undefined;
  }

  /** Start a program; `null` when argv[0] names nothing (the caller decides how that reads). */
  async launch(machine: GuestMachine, spec: LaunchSpec): Promise<number | null> {
    const resolved = this.resolve(machine, spec);
    if (!resolved) return null;
    const { program, argv } = resolved;
    let stdin: Uint8Array | undefined;
    const process: GuestProcess = {
      argv,
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
      network: machine.network ?? 'none',
      spawn: (child) => this.launch(machine, { ...child, user: spec.user, signal: spec.signal }),
      which: (name) => this.which(name),
    };
    return program(process);
  }
}

/** The interpreter of an executable regular file starting with `#!`, read as `user`; else undefined. */
function shebang(fs: GuestFs, path: string): string | undefined {
  try {
    const stat = fs.vol.statSync(path);
    if (!stat.isFile() || (Number(stat.mode) & 0o111) === 0) return undefined;
    const firstLine = String(fs.vol.readFileSync(path, 'utf8')).split('\n', 1)[0] ?? '';
    return /^#!\s*(\S+)/.exec(firstLine)?.[1];
  } catch {
    return undefined;
  }
}
