// The command line: each command's arguments, options, help and examples. An action loads its
// command module only when it runs, so `--help` and `--version` load commander and this file.
import { Command } from 'commander';
import pkg from '../../package.json' with { type: 'json' };
import { MAX_FORKS } from '../agent/limits.ts';
import type { Env } from '../host/state.ts';
import { createIo, type Io, type Streams, UsageError } from './io.ts';

/** The overview (`claude-bottle --help`); each command's own `--help` has its options and examples. */
export const HELP = `claude-bottle ${pkg.version} — run Claude Code agents in isolated bottles (smolvm microVMs, Docker, Podman, or the in-memory fake)

Usage:
  claude-bottle launch <agent-file> [--backend auto|smolvm|docker|podman|fake] [--name NAME] [--forks N] [--json]
  claude-bottle claude <bottle> [--env KEY[=VALUE]]… [-- <claude args…>]
  claude-bottle exec <bottle> [--env KEY[=VALUE]]… -- <argv…>
  claude-bottle ls [--json]
  claude-bottle rm <bottle> [--cascade] [--json]
  claude-bottle fork <bottle> -n N [--json]        N bottles from a provisioned one, at the cost of a fork
  claude-bottle prune [--backend auto|smolvm|docker|podman|fake] [--orphans] [--agent SLUG] [--json]
  claude-bottle doctor [--json]
  claude-bottle image build [--backend docker|podman] [--force] [--json]   build the agent image (Debian + node 24 + claude-code, user node)
  claude-bottle image status [--backend docker|podman] [--json]
  claude-bottle <command> --help                 a command's options and examples
  claude-bottle --version

--backend auto picks smolvm when installed and recent enough, else a Docker engine that answers,
else podman when it runs, else the in-memory fake (and says so). An agent with egress, git or supervise sections has host
daemons: launch then stays in the foreground serving them, and Ctrl-C removes the bottle.
--env without a value takes it from this environment; values never appear in an engine's argv.

Exit codes: 0 ok · 1 failed · 2 bad usage · 3 bad agent file or config ·
exec/claude: the guest command's own exit code, or 125 when claude-bottle itself failed.`;

/** One run of the CLI: what the actions read, and the exit code they leave. */
export interface Invocation {
  readonly env: Env;
  readonly streams: Streams;
  /** The arguments after the first `--`; undefined when there was no `--`. */
  readonly tail: readonly string[] | undefined;
  /** Help that commander prints on a usage error; main() shows it only for a bare `claude-bottle`. */
  readonly errorHelp: string[];
  exitCode: number;
}

const BACKEND_HELP = 'auto (the default: smolvm, else Docker, else podman, else the fake), smolvm, docker, podman or fake';
const collect = (value: string, previous: readonly string[] = []): string[] => [...previous, value];
const examples = (...lines: string[]): string => `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}\n`;

export function buildProgram(invocation: Invocation): Command {
  const { streams } = invocation;
  const io = (options: { json?: boolean }): Io => createIo({ json: options.json === true, env: invocation.env, streams });
  const done = (code: number): void => {
    invocation.exitCode = code;
  };

  const program = new Command('claude-bottle')
    .version(pkg.version, '-V, --version', 'print the version')
    .helpOption('-h, --help', "print this command's help")
    .helpCommand('help [command]', "print a command's help")
    // main() turns every parse error into one line and an exit code; commander only reports them.
    .exitOverride()
    .configureOutput({ writeOut: (s) => streams.stdout.write(s), writeErr: (s) => invocation.errorHelp.push(s), outputError: () => undefined })
    // Counted in the preAction hook below, to say which argument was not expected.
    .allowExcessArguments(true);
  program.helpInformation = () => `${HELP}\n`;
  program.hook('preAction', (_root, command) => {
    const path = commandPath(command);
    const extra = command.args[command.registeredArguments.length];
    const execLike = path === 'exec' || path === 'claude';
    if (extra !== undefined) throw new UsageError(`${path}: unexpected argument ${JSON.stringify(extra)}${execLike ? ' (put the command after --)' : ''}`);
    if (invocation.tail !== undefined && !execLike) throw new UsageError(`${path} takes no arguments after --`);
  });

  program
    .command('launch')
    .summary('prepare an agent file and launch it in a new bottle')
    .description(
      'Prepare the agent (prompt, skills, daemons) and launch it in a new bottle: create, start, provision. A bottle with host daemons keeps launch in the foreground until Ctrl-C, which removes it.',
    )
    .argument('<agent-file>', 'YAML, JSON, or Markdown with YAML front matter')
    .option('--backend <name>', BACKEND_HELP)
    .option('--name <name>', 'the bottle name (default: <agent name>-<8 hex>)')
    .option('--forks <n>', 'then fork it N times (see claude-bottle fork)', (value: string) => parseCount('--forks', value))
    .option('--json', 'print {name, backend, promptPath, skillsDir, daemons, …} (or the error) as JSON on stdout')
    .addHelpText(
      'after',
      examples('claude-bottle launch examples/reviewer/agent.yaml --backend fake', 'claude-bottle launch agent.yaml --backend docker --name reviewer-1 --json'),
    )
    .action(async (agentFile: string, options: { backend?: string; name?: string; forks?: number; json?: boolean }) => {
      const [{ launchCommand }, { parseBackend }] = await Promise.all([import('./commands/launch.ts'), import('./backends.ts')]);
      const backend = parseBackend(options.backend);
      done(
        await launchCommand(io(options), {
          agentFile,
          backend,
          ...(options.name !== undefined ? { name: options.name } : {}),
          ...(options.forks !== undefined ? { forks: options.forks } : {}),
        }),
      );
    });

  for (const claude of [true, false]) {
    const name = claude ? 'claude' : 'exec';
    program
      .command(name)
      .summary(
        claude ? 'run claude in a bottle (the prompt flag when the agent has a prompt)' : 'run a command in a bottle; its output and exit code pass through',
      )
      .description(
        claude
          ? "Run Claude Code in a bottle, with --append-system-prompt-file when the agent has a prompt, then the arguments after --. Interactive on a terminal. Exits with claude's own code, or 125 when claude-bottle itself failed."
          : "Run argv in a bottle. The guest's stdout, stderr and exit code pass straight through (125 when claude-bottle itself failed).",
      )
      .usage(claude ? '<bottle> [--env KEY[=VALUE]]… [-- <claude args…>]' : '<bottle> [--env KEY[=VALUE]]… -- <argv…>')
      .argument('<bottle>', 'a bottle name (see claude-bottle ls)')
      .option('--env <KEY[=VALUE]>', 'set a variable in the guest; without =VALUE it comes from this environment; repeatable', collect)
      .option('--json', 'print {exitCode, stdout, stderr} (or the error) as JSON on stdout')
      .addHelpText(
        'after',
        claude
          ? examples('claude-bottle claude reviewer-3f9c01ab -- -p "review HEAD"', 'claude-bottle claude reviewer-3f9c01ab --env ANTHROPIC_API_KEY')
          : examples(
              'claude-bottle exec reviewer-3f9c01ab -- ls -la /root/.claude/skills',
              'claude-bottle exec reviewer-3f9c01ab --env TOKEN=abc -- sh -c \'echo "$TOKEN"\'',
            ),
      )
      .action(async (bottle: string, options: { env?: string[]; json?: boolean }) => {
        if (!claude && invocation.tail === undefined) throw new UsageError('exec needs a command after --: claude-bottle exec <bottle> -- <argv…>');
        const { execCommand } = await import('./commands/exec.ts');
        done(await execCommand(io(options), { bottle, argv: invocation.tail ?? [], env: options.env ?? [], claude }));
      });
  }

  program
    .command('ls')
    .summary('list the bottles, on every backend')
    .description("List the recorded bottles with their state: the machine's, or launching, crashed, orphaned, missing.")
    .option('--json', 'print the list as JSON on stdout')
    .addHelpText('after', examples('claude-bottle ls', 'claude-bottle ls --json'))
    .action(async (options: { json?: boolean }) => {
      const { lsCommand } = await import('./commands/ls.ts');
      done(await lsCommand(io(options)));
    });

  program
    .command('rm')
    .summary('remove a bottle (asking a foreground launch to stop first)')
    .description(
      'Remove a bottle: its machine, its networks, its host files and its record. A launch still serving its daemons is asked to stop first. A golden with live forks is refused unless --cascade.',
    )
    .argument('<bottle>', 'a bottle name (see claude-bottle ls)')
    .option('--cascade', 'remove its forks first (a golden with live forks is refused without it)')
    .option('--json', 'print the outcome (or the error) as JSON on stdout')
    .addHelpText('after', examples('claude-bottle rm reviewer-3f9c01ab', 'claude-bottle rm --cascade reviewer-3f9c01ab'))
    .action(async (bottle: string, options: { cascade?: boolean; json?: boolean }) => {
      const { rmCommand } = await import('./commands/rm.ts');
      done(await rmCommand(io(options), { bottle, cascade: options.cascade === true }));
    });

  program
    .command('fork')
    .summary('make N bottles from a provisioned one, at the cost of a fork')
    .description(
      'Fork a bottle: N new bottles from it as it is now (its prompt, skills and clone), each with its own name (<bottle>-f<k>), git branch (<prefix>f<k>/work), daemons and credentials. Nothing is uploaded or cloned again. On smolvm the golden is frozen while its forks live. Engines that cannot fork launch each copy anew, and say so. Forks with host daemons keep fork in the foreground serving them, as launch does.',
    )
    .argument('<bottle>', 'the golden: a bottle name (see claude-bottle ls)')
    .requiredOption('-n, --count <n>', 'how many forks', (value: string) => parseCount('-n', value))
    .option('--json', 'print {golden, backend, forks: [{name, branch, …}]} (or the error) as JSON on stdout')
    .addHelpText('after', examples('claude-bottle fork reviewer-3f9c01ab -n 3', 'claude-bottle fork reviewer-3f9c01ab -n 10 --json'))
    .action(async (bottle: string, options: { count: number; json?: boolean }) => {
      const { forkCommand } = await import('./commands/fork.ts');
      done(await forkCommand(io(options), { bottle, count: options.count }));
    });

  program
    .command('prune')
    .summary('remove what crashed or vanished launches left behind')
    .description(
      "Remove bottles whose machine is gone and launches killed half-way, with their networks and files. With --orphans, also bottles whose daemons died with their launcher, and labelled machines and networks no record knows (an SDK process's too: make sure none is in use).",
    )
    .option('--backend <name>', `${BACKEND_HELP}; auto prunes every backend that answers`)
    .option('--orphans', 'also remove orphaned bottles and unrecorded labelled machines, networks and files')
    .option('--agent <slug>', "only this agent's bottles, machines and networks (by their claude-bottle.agent label)")
    .option('--json', 'print what was removed as JSON on stdout')
    .addHelpText(
      'after',
      examples('claude-bottle prune', 'claude-bottle prune --backend docker --orphans --json', 'claude-bottle prune --orphans --agent reviewer'),
    )
    .action(async (options: { backend?: string; orphans?: boolean; agent?: string; json?: boolean }) => {
      const [{ pruneCommand }, { parseBackend }] = await Promise.all([import('./commands/prune.ts'), import('./backends.ts')]);
      done(
        await pruneCommand(io(options), {
          backend: parseBackend(options.backend),
          orphans: options.orphans === true,
          ...(options.agent !== undefined ? { agent: options.agent } : {}),
        }),
      );
    });

  program
    .command('doctor')
    .summary('report platform, smolvm, Docker, Podman, the host firewall, pipelock, the agent image and the state dir')
    .option('--json', 'print the report as JSON on stdout')
    .addHelpText('after', examples('claude-bottle doctor', 'claude-bottle doctor --json'))
    .action(async (options: { json?: boolean }) => {
      const { doctorCommand } = await import('./commands/doctor.ts');
      done(await doctorCommand(io(options)));
    });

  const image = program
    .command('image')
    .summary('build the agent image, or say whether it is current')
    .description('The agent image (claude-bottle/agent): Debian bookworm, Node 24 and claude-code, user node. Nothing is pulled.')
    .addHelpText('after', examples('claude-bottle image build', 'claude-bottle image status --json'));
  image
    .command('build')
    .summary('build the agent image (or confirm it is current)')
    .description('Build claude-bottle/agent:latest unless an image from this recipe exists. Progress goes to stderr.')
    .option('--backend <name>', 'docker (the default) or podman: the engine that gets the image')
    .option('--force', 'rebuild even when the image is current')
    .option('--json', 'print the build (or the error) as JSON on stdout')
    .addHelpText('after', examples('claude-bottle image build', 'claude-bottle image build --force --json', 'claude-bottle image build --backend podman'))
    .action(async (options: { backend?: string; force?: boolean; json?: boolean }) => {
      const { imageCommand } = await import('./commands/image.ts');
      done(await imageCommand(io(options), { action: 'build', force: options.force === true, backend: options.backend }));
    });
  image
    .command('status')
    .summary('exit 0 when the agent image is present and built from this recipe')
    .option('--backend <name>', 'docker (the default) or podman: the engine to look in')
    .option('--json', 'print the status as JSON on stdout')
    .addHelpText('after', examples('claude-bottle image status', 'claude-bottle image status --backend podman'))
    .action(async (options: { backend?: string; json?: boolean }) => {
      const { imageCommand } = await import('./commands/image.ts');
      done(await imageCommand(io(options), { action: 'status', force: false, backend: options.backend }));
    });

  return program;
}

/** `image build`, `exec`, … : a command's name under the program. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** `-n`, `--forks`: a whole number of forks (checked again by `Bottle.fork`, for SDK callers). */
function parseCount(option: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > MAX_FORKS)
    throw new UsageError(`${option}: the number of forks must be a whole number from 1 to ${MAX_FORKS}; got ${JSON.stringify(value)}`);
  return n;
}
