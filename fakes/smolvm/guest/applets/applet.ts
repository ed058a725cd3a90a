/**
 * What an applet is to the fake: busybox 1.36.1's behaviour for one program, read from one
 * busybox source file. `program()` turns it into a guest program: it acts as the process's
 * user, and a usage error prints busybox's usage block.
 */
import { posix } from 'node:path';
import type { GuestProcess, GuestProgram } from '../process.ts';

export type BinDir = '/bin' | '/sbin' | '/usr/bin' | '/usr/sbin';

export interface Applet {
  /** The busybox source (tag 1_36_1) its options, texts and exit codes were read from. */
  readonly source: string;
  /** `//usage:` trivial usage (after `Usage: NAME `), and the first line of the full usage. */
  readonly usage: string;
  readonly summary: string;
  /** `xfunc_error_retval` when the usage is shown: 1 unless the applet sets it (grep: 2). */
  readonly usageExit?: number;
  readonly main: (p: AppletProcess) => number | Promise<number>;
}

export interface AppletProcess extends GuestProcess {
  /** `applet_name`, the prefix of every message: the applet, or `sh` when ash runs it as a builtin. */
  readonly name: string;
}

/** `bb_show_usage()`: the caller already printed why (e.g. musl's getopt message). */
export class UsageFailure extends Error {}

/** `xfunc_die()` after a message: unwinds to the applet's exit. */
export class AppletExit extends Error {
  readonly code: number;
  constructor(code: number) {
    super(`exit ${code}`);
    this.code = code;
  }
}

// libbb/messages.c `bb_banner`. Alpine's build appends its build timestamp in parentheses; the
// fake has no build, so it leaves it out (fakes/README.md).
const BANNER = 'BusyBox v1.36.1 multi-call binary.\n';

export function usageText(name: string, applet: Applet): string {
  const summary = applet.summary ? `\n${applet.summary}\n` : '';
  return `${BANNER}\nUsage: ${name}${applet.usage ? ` ${applet.usage}` : ''}\n${summary}`;
}

/** `bb_error_msg`: `NAME: MESSAGE`. */
export function complain(p: AppletProcess, message: string): void {
  p.stderr.write(`${p.name}: ${message}\n`);
}

/** `bb_error_msg_and_die`. */
export function die(p: AppletProcess, message: string, code = 1): never {
  complain(p, message);
  throw new AppletExit(code);
}

/** A busybox option the fake does not implement: refused in one line, never half-run. */
export function notModelled(p: AppletProcess, what: string): never {
  return die(p, `${what} is not modelled by the fake smolvm`);
}

/** The guest program for `applet`; `name` overrides `applet_name` (ash builtins say `sh`). */
export function program(applet: Applet, name?: string): GuestProgram {
  return (process) => {
    const p: AppletProcess = Object.assign(Object.create(process) as GuestProcess, {
      name: name ?? posix.basename(process.argv[0] ?? ''),
    });
    const exit = (error: unknown): number => {
      if (error instanceof UsageFailure) {
        p.stderr.write(usageText(p.name, applet));
        return applet.usageExit ?? 1;
      }
      if (error instanceof AppletExit) return error.code;
      throw error;
    };
    try {
      const result = p.fs.as(p.user, () => applet.main(p));
      return result instanceof Promise ? result.catch(exit) : result;
    } catch (error) {
      return exit(error);
    }
  };
}
