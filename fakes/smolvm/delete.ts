/** `machine delete`, following `src/cli/vm_common.rs::delete_vm` (v1.9.2) step by step. */
import type { ParsedArgs } from './clap.ts';
import { dependentClones, markStopped, resolvedState } from './fork-state.ts';
import * as ft from './fork-texts.ts';
import { CommandFailure, type Io, type SmolvmModel } from './model.ts';
import * as t from './texts.ts';

export async function remove(model: SmolvmModel, args: ParsedArgs, io: Io): Promise<number> {
  return deleteMachine(model, args.one('name') as string, { force: args.has('force'), cascade: args.has('cascade') }, io);
}

interface DeleteOptions {
  readonly force: boolean;
  /** Clones first (children before the fork base), and no prompt. */
  readonly cascade: boolean;
}

async function deleteMachine(model: SmolvmModel, name: string, options: DeleteOptions, io: Io): Promise<number> {
  const machine = model.machines.get(name);
  if (!machine) throw new CommandFailure(t.vmNotFound(name));
  const r = machine.record;

  // A golden's disks back its clones' overlays, so it must outlive them.
  const clones = dependentClones(model, name);
  if (clones.length) {
    if (options.cascade) {
      // One level: each clone goes with --force semantics and no cascade of its own.
      for (const clone of clones) {
        io.stdout.write(ft.cascadeDeleting(clone));
        await deleteMachine(model, clone, { force: true, cascade: false }, io);
      }
    } else if (!options.force) {
      throw new CommandFailure(ft.deleteForkBase(name, clones));
    } else {
      io.stderr.write(ft.forceDeleteWarning(model.clock(), name, clones));
    }
  }

  // The stop comes before the prompt, so a cancelled delete leaves the machine stopped (§4).
  // A frozen or unreachable VMM is reaped without a "Stopping" line (`recover_unreachable_machine`).
  switch (resolvedState(model, r)) {
    case 'running':
      io.stdout.write(t.stopping(name));
      markStopped(r);
      break;
    case 'frozen':
    case 'unreachable':
      markStopped(r);
      break;
    default:
      break;
  }
  if (!options.force && !options.cascade) {
    io.stderr.write(t.deletePrompt(name));
    const answer = (await io.stdin.line())?.trim().toLowerCase();
    if (answer !== 'y' && answer !== 'yes') {
      io.stdout.write(t.deleteCancelled);
      return 0;
    }
  }
  if (r.everStarted) io.stdout.write(t.cleaningUp(name));
  model.machines.delete(name);
  io.stdout.write(t.deleted(name));
  return 0;
}
