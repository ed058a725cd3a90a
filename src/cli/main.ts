#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ClaudeBottleError, ConfigError, EngineCommandError } from '../errors.ts';
import { UnknownBottleError } from './attach.ts';
import { parseBackend } from './backends.ts';
import { doctorCommand } from './commands/doctor.ts';
import { execCommand } from './commands/exec.ts';
import { imageCommand } from './commands/image.ts';
import { launchCommand } from './commands/launch.ts';
import { lsCommand } from './commands/ls.ts';
import { pruneCommand } from './commands/prune.ts';
import { rmCommand } from './commands/rm.ts';
import { EXIT, UsageError, createIo } from './io.ts';

export const HELP = `claude-bottle — run Claude Code agents in isolated bottles (smolvm microVMs, Docker, or the in-memory fake)

Usage:
  claude-bottle launch <agent-file> [--backend auto|smolvm|docker|fake] [--name NAME] [--json]
  claude-bottle claude <bottle> [--env KEY[=VALUE]]… [-- <claude args…>]
  claude-bottle exec <bottle> [--env KEY[=VALUE]]… -- <argv…>
  claude-bottle ls [--json]
  claude-bottle rm <bottle> [--json]
  claude-bottle prune [--backend auto|smolvm|docker|fake] [--orphans] [--json]
  claude-bottle doctor [--json]
  claude-bottle image build [--force] [--json]   build the agent image (Debian + node 24 + claude-code, user node)
  claude-bottle image status [--json]

--backend auto picks smolvm when installed and recent enough, else a Docker engine that answers,
else the in-memory fake (and says so). An agent with egress, git or supervise sections has host
daemons: launch then stays in the foreground serving them, and Ctrl-C removes the bottle.
--env without a value takes it from this environment; values never appear in an engine's argv.

Exit codes: 0 ok · 1 failed · 2 bad usage · 3 bad agent file or config ·
exec/claude: the guest command's own exit code, or 125 when claude-bottle itself failed.`;

export async function main(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = process.env): Promise<number> {
  const dash = argv.indexOf('--');
  const head = dash === -1 ? [...argv] : argv.slice(0, dash);
  const tail = dash === -1 ? [] : argv.slice(dash + 1);
  const command = head[0];
  const execLike = command === 'exec' || command === 'claude';
  let json = head.includes('--json');
  try {
    const { values, positionals } = parseArgs({
      args: head.slice(1),
      allowPositionals: true,
      strict: true,
      options: {
        backend: { type: 'string' },
        name: { type: 'string' },
        json: { type: 'boolean', default: false },
        env: { type: 'string', multiple: true, default: [] },
        help: { type: 'boolean', short: 'h', default: false },
        force: { type: 'boolean', default: false },
        orphans: { type: 'boolean', default: false },
      },
    });
    json = values.json;
    const io = createIo({ json, env });
    if (values.help || command === undefined || command === 'help' || command === '--help' || command === '-h') {
      process.stdout.write(`${HELP}\n`);
      return command === undefined ? EXIT.usage : EXIT.ok;
    }
    const only = (allowed: readonly string[]) => {
      for (const key of ['backend', 'name', 'env'] as const) {
        const v = values[key];
        if (v !== undefined && !(Array.isArray(v) && v.length === 0) && !allowed.includes(key)) {
          throw new UsageError(`${command} does not take --${key}`);
        }
      }
    };
    if (values.force && command !== 'image') throw new UsageError(`${command} does not take --force`);
    if (values.orphans && command !== 'prune') throw new UsageError(`${command} does not take --orphans`);
    if (dash !== -1 && !execLike) throw new UsageError(`${command} takes no arguments after --`);
    const maxPositionals = (n: number) => {
      if (positionals.length > n) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[n])}${execLike ? ' (put the command after --)' : ''}`);
    };
    switch (command) {
      case 'launch':
        only(['backend', 'name']);
        maxPositionals(1);
        return await launchCommand(io, { agentFile: positionals[0], backend: parseBackend(values.backend), ...(values.name ? { name: values.name } : {}) });
      case 'exec':
      case 'claude':
        only(['env']);
        maxPositionals(1);
        return await execCommand(io, { bottle: positionals[0], argv: tail, env: values.env, claude: command === 'claude' });
      case 'ls':
        only([]);
        maxPositionals(0);
        return await lsCommand(io);
      case 'rm':
        only([]);
        maxPositionals(1);
        return await rmCommand(io, { bottle: positionals[0] });
      case 'prune':
        only(['backend']);
        maxPositionals(0);
        return await pruneCommand(io, { backend: parseBackend(values.backend), orphans: values.orphans });
      case 'doctor':
        only([]);
        maxPositionals(0);
        return await doctorCommand(io);
      case 'image':
        only([]);
        maxPositionals(1);
        return await imageCommand(io, { action: positionals[0], force: values.force });
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}; see claude-bottle --help`);
    }
  } catch (error) {
    return report(error, { json, execLike });
  }
}

function report(error: unknown, how: { json: boolean; execLike: boolean }): number {
  const code = how.execLike
    ? EXIT.execFailure
    : error instanceof UsageError || (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))
      ? EXIT.usage
      : error instanceof ConfigError
        ? EXIT.config
        : EXIT.failure;
  const message = error instanceof Error ? error.message : String(error);
  if (how.json) {
    process.stdout.write(
      `${JSON.stringify({ error: { name: error instanceof Error ? error.name : 'Error', message, ...(error instanceof EngineCommandError ? { kind: error.kind, argv: error.argv, exitCode: error.exitCode } : {}) }, exitCode: code }, null, 2)}\n`,
    );
  }
  const known = error instanceof ClaudeBottleError || error instanceof UnknownBottleError || code === EXIT.usage;
  process.stderr.write(`claude-bottle: ${message}\n`);
  if (!known && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  return code;
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
