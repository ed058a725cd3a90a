import type { ExecResult } from '../../engine/types.ts';
import { attachReady, parseEnvFlags } from '../attach.ts';
import { type Io, UsageError } from '../io.ts';

/** `exec` and `claude`: the guest's stdout, stderr and exit code pass straight through. */
export async function execCommand(
  io: Io,
  args: { bottle: string | undefined; argv: readonly string[]; env: readonly string[]; claude: boolean },
): Promise<number> {
  if (!args.claude && args.argv.length === 0) throw new UsageError('exec needs a command: claude-bottle exec <bottle> -- <argv…>');
  const env = parseEnvFlags(args.env, io.env);
  const { bottle, backend } = await attachReady(io, args.bottle);
  try {
    // Only `claude` attaches the terminal: `exec` captures, as `docker exec` without -it does.
    const options = { env, ...(args.claude && io.interactive && !io.json ? { interactive: true } : {}) };
    const result = args.claude ? await bottle.execClaude(args.argv, options) : await bottle.exec(args.argv, options);
    emit(io, result);
    return result.exitCode;
  } finally {
    await backend.close();
  }
}

function emit(io: Io, result: ExecResult): void {
  if (io.json) {
    io.data({ exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr });
    return;
  }
  if (result.stdoutBytes.length) io.stdout.write(result.stdoutBytes);
  if (result.stderr) io.stderr.write(result.stderr);
}
