import { type Command, CommanderError } from 'commander';
import { ClaudeBottleError, ConfigError, EngineCommandError } from '../errors.ts';
import type { Env } from '../host/state.ts';
import { EXIT, type Streams, UsageError } from './io.ts';
import { buildProgram, commandPath, HELP } from './program.ts';

export { HELP };

/**
 * Runs one command line; resolves to the exit code. Everything after the first `--` is
 * passed through (`exec`, `claude`); every usage error is one line on stderr and exit 2.
 */
export async function main(argv: readonly string[], env: Env = process.env, streams: Streams = process): Promise<number> {
  const dash = argv.indexOf('--');
  const given = dash === -1 ? [...argv] : argv.slice(0, dash);
  const invocation = { env, streams, tail: dash === -1 ? undefined : argv.slice(dash + 1), errorHelp: [] as string[], exitCode: EXIT.ok as number };
  const program = buildProgram(invocation);
  // `help image build` is `image build --help` (commander's help command takes one name);
  // `help lunch` is `lunch`, an unknown command with a suggestion, not the overview.
  const known = program.commands.some((c) => c.name() === given[1]);
  const head = given[0] === 'help' && given.length > 1 ? [...given.slice(1), ...(known ? ['--help'] : [])] : given;
  const { command, at } = locate(program, head);
  const path = commandPath(command);
  try {
    await program.parseAsync(head, { from: 'user' });
    return invocation.exitCode;
  } catch (error) {
    if (error instanceof CommanderError && (error.code === 'commander.helpDisplayed' || error.code === 'commander.version')) return EXIT.ok;
    if (error instanceof CommanderError && error.code === 'commander.help' && path === '') {
      // `claude-bottle help` printed the overview; a bare `claude-bottle` gets it on stderr, as a usage error.
      if (head.length) return EXIT.ok;
      streams.stderr.write(invocation.errorHelp.join(''));
      return EXIT.usage;
    }
    const cause = error instanceof CommanderError ? new UsageError(usageMessage(error, program, command, head.slice(0, at))) : error;
    return report(cause, { json: head.includes('--json'), execLike: path === 'exec' || path === 'claude', streams });
  }
}

/** The command a command line names (the program itself when it names none), and where its name ends. */
function locate(program: Command, head: readonly string[]): { command: Command; at: number } {
  let command = program;
  let at = 0;
  for (const [i, token] of head.entries()) {
    if (token.startsWith('-')) continue;
    const sub = command.commands.find((c) => c.name() === token);
    if (!sub) break;
    command = sub;
    at = i + 1;
  }
  return { command, at };
}

/** commander's error, as one line that names the command and how to get its help. */
function usageMessage(error: CommanderError, program: Command, command: Command, beforeName: readonly string[]): string {
  const path = commandPath(command);
  const suggestion = /\(Did you mean (.+)\?\)/.exec(error.message)?.[1];
  const didYouMean = suggestion ? ` (did you mean ${suggestion}?)` : '';
  const see = `; see claude-bottle ${path ? `${path} ` : ''}--help`;
  const quoted = /'([^']*)'/.exec(error.message)?.[1] ?? '';
  switch (error.code) {
    case 'commander.unknownCommand':
      if (command.commands.length && path)
        return `${path} needs an action: ${command.commands.map((c) => c.name()).join(' or ')} (got ${JSON.stringify(quoted)})${didYouMean}`;
      return `unknown command ${JSON.stringify(quoted)}${didYouMean}${see}`;
    case 'commander.help':
      return `${path} needs an action: ${command.commands.map((c) => c.name()).join(' or ')}${see}`;
    case 'commander.unknownOption': {
      if (path && beforeName.includes(quoted)) return `options go after the command: claude-bottle ${path} ${quoted}`;
      const owners = didYouMean ? [] : commandsTaking(program, quoted.split('=')[0] ?? quoted);
      if (owners.length) return `${path || 'claude-bottle'} does not take ${quoted} (${owners.join(', ')} ${owners.length === 1 ? 'does' : 'do'})`;
      const afterDash = path === 'exec' || path === 'claude' ? ' (put the command after --)' : '';
      return `${path ? `${path}: ` : ''}unknown option ${quoted}${didYouMean}${afterDash}${see}`;
    }
    case 'commander.missingArgument':
      return `${path} needs <${quoted}>${see}`;
    default:
      return `${path ? `${path}: ` : ''}${error.message.replace(/^error: /, '').replaceAll('\n', ' ')}${see}`;
  }
}

/** The commands (by path) that define `flag`, to say where a misplaced option belongs. */
function commandsTaking(program: Command, flag: string): string[] {
  const found: string[] = [];
  const visit = (command: Command): void => {
    if (command !== program && command.options.some((o) => o.long === flag || o.short === flag)) found.push(commandPath(command));
    command.commands.forEach(visit);
  };
  visit(program);
  return found;
}

function report(error: unknown, how: { json: boolean; execLike: boolean; streams: Streams }): number {
  const code = error instanceof UsageError ? EXIT.usage : how.execLike ? EXIT.execFailure : error instanceof ConfigError ? EXIT.config : EXIT.failure;
  const message = error instanceof Error ? error.message : String(error);
  if (how.json) {
    const shape = {
      name: error instanceof Error ? error.name : 'Error',
      message,
      ...(error instanceof EngineCommandError ? { kind: error.kind, argv: error.argv, exitCode: error.exitCode } : {}),
    };
    how.streams.stdout.write(`${JSON.stringify({ error: shape, exitCode: code }, null, 2)}\n`);
  }
  how.streams.stderr.write(`claude-bottle: ${message}\n`);
  // An error we did not mean to throw is a bug: its stack helps whoever reports it.
  if (!(error instanceof ClaudeBottleError) && error instanceof Error && error.stack) how.streams.stderr.write(`${error.stack}\n`);
  return code;
}
