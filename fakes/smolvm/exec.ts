/** `machine exec` (§3, `ExecCmd::run` and the agent's `handle_vm_exec`). */
import type { ParsedArgs } from './clap.ts';
import { Sink } from './guest/process.ts';
import { guestEnv, refuseUnmodelled, runningMachine } from './lifecycle.ts';
import { CommandFailure, type Io, type SmolvmModel } from './model.ts';
import { parseEnvSpec } from './records.ts';
import * as t from './texts.ts';

export async function exec(model: SmolvmModel, args: ParsedArgs, io: Io): Promise<number> {
  refuseUnmodelled(args, 'exec');
  const machine = runningMachine(model, args.one('name'));
  const r = machine.record;
  const image = r.imageSource !== null;
  const interactive = args.has('interactive');
  const tty = args.has('tty');
  // Buffered mode is the default; -i/-t and --stream write as output arrives, with no cap.
  const buffered = !interactive && !tty && !args.has('stream');

  const overrides = args.all('env').flatMap((spec) => {
    const pair = parseEnvSpec(spec, io.env);
    return pair ? [pair] : [];
  });
  const env = guestEnv(machine, overrides);
  if (tty) env.TERM ??= 'xterm-256color';
  const cwd = args.one('workdir') ?? r.workdir ?? r.imageConfig?.workdir ?? '/'; // bare default UNCONFIRMED (§10)
  const timeoutMs = args.one('timeout') === undefined ? undefined : Number(args.one('timeout'));
  // Without -i the guest's stdin is /dev/null, whatever the caller pipes in.
  const stdin = interactive ? await io.stdin.all() : new Uint8Array();

  const keep = buffered ? t.MAX_EXEC_OUTPUT + 1 : Number.POSITIVE_INFINITY;
  const stdout = new Sink(keep);
  const stderr = tty ? stdout : new Sink(keep);
  const run = { argv: args.rest, env, cwd, stdin, stdout, stderr, timeoutMs, signal: io.signal };

  if (args.has('detach')) {
    const guest = model.guest(machine);
    const user = machine.fs.defaultUser;
    if (!model.userland.resolve(guest, { ...run, user })) {
      // A bare machine's agent spawns it itself (handle_vm_exec_background); an image's goes through crun.
      const errno = model.userland.spawnErrno(guest, { ...run, user });
      throw new CommandFailure(image ? t.spawnFailed(errno) : t.backgroundSpawnFailed(errno));
    }
    void model.runGuest(machine, { ...run, stdout: new Sink(0), stderr: new Sink(0) }).catch(() => {});
    io.stdout.write(`${model.nextPid++}\n`);
    return 0;
  }

  const outcome = await model.runGuest(machine, run);
  let code: number;
  switch (outcome.kind) {
    case 'not-found':
    case 'no-cwd':
      if (!image) throw new CommandFailure(interactive || tty ? t.interactiveSpawnFailed(outcome.errno) : t.spawnFailed(outcome.errno));
      io.stderr.write(outcome.kind === 'not-found' ? t.crunNotFound(run.argv[0] ?? '') : t.crunNoCwd(cwd));
      return t.CRUN_NOT_FOUND_EXIT;
    case 'timed-out':
      code = 124;
      if (image) stderr.write(t.containerTimedOut(timeoutMs ?? 0));
      break;
    case 'exited':
      code = outcome.code & 0xff; // a process exit status is one byte
      break;
  }
  if (buffered && (stdout.length > t.MAX_EXEC_OUTPUT || stderr.length > t.MAX_EXEC_OUTPUT)) {
    throw new CommandFailure(t.outputCapExceeded(image ? 'run command' : 'vm exec'));
  }
  // Buffered exec prints all of stdout, then all of stderr.
  io.stdout.write(stdout.bytes());
  if (stderr !== stdout) io.stderr.write(stderr.bytes());
  return code;
}
