/** `smolvm ARGS…` → exit code, writing stdout/stderr as the real binary would. */
import { clapError } from './texts.ts';
import { HelpRequested, parseArgs, UsageError, type CommandSpec, type ParsedArgs } from './clap.ts';
import { cp } from './cp.ts';
import { exec } from './exec.ts';
import { create } from './create.ts';
import { remove } from './delete.ts';
import { fork, forkRelease } from './fork.ts';
import { ls, start, status, stop } from './lifecycle.ts';
import { TOP_HELP, TOP_LONG_HELP, TOP_USAGE } from './help.ts';
import { CommandFailure, type Io, type SmolvmModel } from './model.ts';
import {
  cpSpec,
  createSpec,
  deleteSpec,
  execSpec,
  forkReleaseSpec,
  forkSpec,
  lsSpec,
  MACHINE_ALIASES,
  startSpec,
  statusSpec,
  stopSpec,
  UNMODELLED_SUBCOMMANDS,
} from './specs.ts';
import * as t from './texts.ts';

type Handler = (model: SmolvmModel, args: ParsedArgs, io: Io) => Promise<number>;

const MACHINE_COMMANDS: Readonly<Record<string, [CommandSpec, Handler]>> = {
  create: [createSpec, create],
  start: [startSpec, start],
  stop: [stopSpec, stop],
  delete: [deleteSpec, remove],
  status: [statusSpec, status],
  ls: [lsSpec, ls],
  cp: [cpSpec, cp],
  exec: [execSpec, exec],
  fork: [forkSpec, fork],
  'fork-release': [forkReleaseSpec, forkRelease],
};

const MACHINE_USAGE = 'smolvm machine <COMMAND>';
const MACHINE_HELP = `Manage machines (create, start, stop, exec)

Usage: ${MACHINE_USAGE}

Commands:
${[...Object.keys(MACHINE_COMMANDS), ...UNMODELLED_SUBCOMMANDS].map((c) => `  ${c}`).join('\n')}
`;

export async function runSmolvm(model: SmolvmModel, args: readonly string[], io: Io): Promise<number> {
  try {
    return await dispatch(model, args, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(error.text);
      return 2;
    }
    if (error instanceof HelpRequested) {
      io.stdout.write(error.text);
      return 0;
    }
    if (error instanceof CommandFailure) {
      io.stderr.write(t.errorLine(error.display));
      return 1;
    }
    throw error;
  }
}

async function dispatch(model: SmolvmModel, args: readonly string[], io: Io): Promise<number> {
  const [top, sub, ...rest] = args;
  switch (top) {
    case undefined:
      // clap's `arg_required_else_help`: help on stderr, exit 2.
      io.stderr.write(TOP_HELP);
      return 2;
    case '--version':
    case '-V':
      io.stdout.write(t.versionLine(model.version));
      return 0;
    case '-h':
      io.stdout.write(TOP_HELP);
      return 0;
    case '--help':
    case 'help':
      io.stdout.write(TOP_LONG_HELP);
      return 0;
    case 'machine':
    case 'vm':
      break;
    case 'serve':
    case 'pack':
    case 'config':
      throw new CommandFailure(t.notModelled(top));
    default:
      throw new UsageError(
        top.startsWith('-') ? clapError(`unexpected argument '${top}' found`, TOP_USAGE) : clapError(`unrecognized subcommand '${top}'`, TOP_USAGE),
      );
  }
  if (sub === undefined) {
    io.stderr.write(MACHINE_HELP);
    return 2;
  }
  if (sub === '--help' || sub === '-h' || sub === 'help') {
    io.stdout.write(MACHINE_HELP);
    return 0;
  }
  const name = MACHINE_ALIASES[sub] ?? sub;
  const command = MACHINE_COMMANDS[name];
  if (!command) {
    if (UNMODELLED_SUBCOMMANDS.has(name)) throw new CommandFailure(t.notModelled(`machine ${name}`));
    throw new UsageError(
      sub.startsWith('-') ? clapError(`unexpected argument '${sub}' found`, MACHINE_USAGE) : clapError(`unrecognized subcommand '${sub}'`, MACHINE_USAGE),
    );
  }
  const [spec, handler] = command;
  return handler(model, parseArgs(spec, rest), io);
}
