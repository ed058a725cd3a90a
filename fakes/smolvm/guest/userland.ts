/**
 * Program lookup for one fake, as the kernel and `execvp` would do it over the guest's files:
 * test-registered commands first (they live in /usr/local/bin), then PATH. A file that resolves
 * to /bin/busybox runs the applet its name says (`busybox NAME` runs NAME); an executable `#!`
 * script runs its interpreter; anything else is not found.
 */
import { posix } from 'node:path';
import type { GuestFs, GuestUser } from '../guest-fs.ts';
import { APPLETS, program as appletProgram, type BinDir } from './applets/index.ts';
import {
  handlerProgram,
  type ChildSpec,
  type GuestCommandHandler,
  type GuestNetwork,
  type GuestProcess,
  type GuestProgram,
  type GuestSystem,
} from './process.ts';

/** ash, loaded the first time a shell runs. */
const shProgram: GuestProgram = async (p) => (await import('./shell/index.ts')).shProgram(p);

export interface GuestMachine {
  readonly name: string;
  readonly fs: GuestFs;
  /** What the guest's sockets reach (see GuestNetwork). */
  readonly network?: GuestNetwork;
  readonly system: GuestSystem;
  readonly clock: () => number;
}

export interface LaunchSpec extends ChildSpec {
  readonly user: GuestUser;
  readonly signal: AbortSignal;
}

/** musl's `execvp` default when PATH is unset. */
const DEFAULT_PATH = '/usr/local/bin:/bin:/usr/bin';
const BUSYBOX = '/bin/busybox';
const REGISTERED_DIR = '/usr/local/bin';

export class Userland {
  readonly #handlers = new Map<string, GuestProgram>();

  register(name: string, handler: GuestCommandHandler): void {
    this.#handlers.set(name, handlerProgram(handler));
  }

  /** The busybox links a rootfs gets: every applet, in the directory busybox installs it to. */
  links(): Array<readonly [string, BinDir]> {
    return Object.entries(APPLETS).map(([name, entry]) => [name, entry.dir] as const);
  }

  /** The program a busybox link named `name` runs, if busybox has such an applet here. */
  applet(name: string): GuestProgram | undefined {
    if (name === 'sh' || name === 'ash') return shProgram;
    const entry = APPLETS[name];
    return entry ? async (p) => appletProgram(await entry.load())(p) : undefined;
  }

  /** Every path `name` resolves to on `path`, in order (registered commands sit in /usr/local/bin). */
  whichAll(machine: GuestMachine, user: GuestUser, name: string, path: string | undefined, cwd = '/'): string[] {
    if (name === '') return [];
    if (name.includes('/')) return this.#resolveFile(machine, user, posix.resolve(cwd, name), []) ? [name] : [];
    const found: string[] = [];
    for (const dir of (path ?? DEFAULT_PATH).split(':')) {
      const full = posix.join(dir || '.', name);
      if ((dir === REGISTERED_DIR && this.#handlers.has(name)) || this.#resolveFile(machine, user, posix.resolve(cwd, full), [])) {
        if (!found.includes(full)) found.push(full);
      }
    }
    if (this.#handlers.has(name) && !found.includes(`${REGISTERED_DIR}/${name}`)) found.unshift(`${REGISTERED_DIR}/${name}`);
    return found;
  }

  /** What argv[0] runs, with the argv it runs with (a script gets its interpreter prepended). */
  resolve(machine: GuestMachine, spec: Pick<LaunchSpec, 'argv' | 'env' | 'cwd' | 'user'>): { program: GuestProgram; argv: readonly string[] } | undefined {
    const argv0 = spec.argv[0] ?? '';
    const registered = this.#handlers.get(posix.basename(argv0));
    if (registered) return { program: registered, argv: spec.argv };
    if (argv0 === '') return undefined;
    const paths = argv0.includes('/')
      ? [posix.resolve(spec.cwd, argv0)]
      : (spec.env.PATH ?? DEFAULT_PATH).split(':').map((dir) => posix.resolve(spec.cwd, dir || '.', argv0));
    for (const path of paths) {
      const found = this.#resolveFile(machine, spec.user, path, spec.argv);
      if (found) return found;
    }
    return undefined;
  }

  /**
   * The errno musl's `execvp` fails with for a spec `resolve` finds nothing for; the agent's
   * `Command::spawn` reports it. A path is tried alone; a bare name on each PATH entry, where
   * EACCES is remembered, ENOENT/ENOTDIR go on, anything else stops (src/process/execvp.c).
   */
  spawnErrno(machine: GuestMachine, spec: Pick<LaunchSpec, 'argv' | 'env' | 'cwd' | 'user'>): string {
    const argv0 = spec.argv[0] ?? '';
    if (argv0 === '') return 'ENOENT';
    const attempt = (path: string): string => {
      const r = this.#exec(machine, spec.user, path, spec.argv);
      return typeof r === 'string' ? r : 'ENOENT'; // resolvable after all: not reached
    };
    if (argv0.includes('/')) return attempt(posix.resolve(spec.cwd, argv0));
    let last = 'ENOENT';
    let seenEacces = false;
    for (const dir of (spec.env.PATH ?? DEFAULT_PATH).split(':')) {
      last = attempt(posix.resolve(spec.cwd, dir || '.', argv0));
      if (last === 'EACCES') seenEacces = true;
      else if (last !== 'ENOENT' && last !== 'ENOTDIR') return last;
    }
    return seenEacces ? 'EACCES' : last;
  }

  #resolveFile(machine: GuestMachine, user: GuestUser, path: string, argv: readonly string[]): { program: GuestProgram; argv: readonly string[] } | undefined {
    const r = this.#exec(machine, user, path, argv);
    return typeof r === 'string' ? undefined : r;
  }

  /** What `execve(path)` runs, or the errno it fails with, as the kernel decides it. */
  #exec(machine: GuestMachine, user: GuestUser, path: string, argv: readonly string[], depth = 0): { program: GuestProgram; argv: readonly string[] } | string {
    const vol = machine.fs.vol;
    return machine.fs.as(user, () => {
      let real: string;
      try {
        real = String(vol.realpathSync(path));
        const st = vol.statSync(real);
        // A directory, a non-regular file or one without an x bit for the user: EACCES.
        if (!st.isFile() || !mayExecute(Number(st.mode), Number(st.uid), Number(st.gid), user)) return 'EACCES';
      } catch (error) {
        return (error as { code?: string }).code ?? 'ENOENT';
      }
      if (real === BUSYBOX) {
        // A multi-call binary: the link's name picks the applet; `busybox NAME ARGS` runs NAME.
        const name = posix.basename(path);
        if (name === 'busybox') return { program: this.#busybox, argv };
        return { program: this.applet(name) ?? appletNotFound(name), argv };
      }
      const interpreter = shebang(machine.fs, real);
      if (interpreter === undefined) return 'ENOEXEC';
      // The kernel allows a few levels of interpreters, then fails with ELOOP (fs/exec.c).
      if (depth >= 4) return 'ELOOP';
      return this.#exec(machine, user, interpreter, [interpreter, path, ...argv.slice(1)], depth + 1);
    });
  }

  /** `busybox [FUNCTION [ARGS]...]` (libbb/appletlib.c `busybox_main`). */
  readonly #busybox: GuestProgram = (p) => {
    const name = p.argv[1];
    if (name === undefined) {
      p.stdout.write(
        `BusyBox v1.36.1 multi-call binary.\n\nUsage: busybox [function [arguments]...]\n\nCurrently defined functions:\n\t${appletNames()
          .map(([n]) => n)
          .join(', ')}\n`,
      );
      return 0;
    }
    if (name.startsWith('--list')) {
      // One name a line; anything after `--list` (`--list-full`) prefixes the install dir
      // (FEATURE_INSTALLER, on in Alpine's build: it runs `busybox --install -s`).
      const full = name.length > '--list'.length;
      p.stdout.write(
        appletNames()
          .map(([n, dir]) => `${full ? `${dir.slice(1)}/` : ''}${n}\n`)
          .join(''),
      );
      return 0;
    }
    const program = this.applet(name);
    if (!program) {
      p.stderr.write(`${name}: applet not found\n`);
      return 127;
    }
    return program(Object.assign(Object.create(p) as GuestProcess, { argv: p.argv.slice(1) }));
  };

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
      system: machine.system,
      clock: machine.clock,
      spawn: (child) => this.launch(machine, { ...child, user: spec.user, signal: spec.signal }),
      which: (name, path = spec.env.PATH) => this.whichAll(machine, spec.user, name, path, spec.cwd)[0],
      whichAll: (name, path = spec.env.PATH) => this.whichAll(machine, spec.user, name, path, spec.cwd),
    };
    return program(process);
  }
}

/** Every applet name with its install dir, in busybox's `applet_names` order (strcmp). */
function appletNames(): Array<readonly [string, BinDir]> {
  const names: Array<readonly [string, BinDir]> = Object.entries(APPLETS).map(([name, entry]) => [name, entry.dir] as const);
  names.push(['ash', '/bin'], ['sh', '/bin']); // the shell is no registry module but is an applet
  return names.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** A busybox link whose name busybox lacks (appletlib.c `run_applet_and_exit`). */
function appletNotFound(name: string): GuestProgram {
  return (p) => {
    p.stderr.write(`${name}: applet not found\n`);
    return 127;
  };
}

/** Linux's execute check: root needs one x bit, anyone else the bit of their class. */
function mayExecute(mode: number, uid: number, gid: number, user: GuestUser): boolean {
  if (user.uid === 0) return (mode & 0o111) !== 0;
  const shift = user.uid === uid ? 6 : user.gid === gid ? 3 : 0;
  return ((mode >> shift) & 1) !== 0;
}

/** The interpreter of a file starting with `#!`, read as the acting user; else undefined. */
function shebang(fs: GuestFs, path: string): string | undefined {
  try {
    const firstLine = String(fs.vol.readFileSync(path, 'utf8')).split('\n', 1)[0] ?? '';
    return /^#!\s*(\S+)/.exec(firstLine)?.[1];
  } catch {
    return undefined;
  }
}
