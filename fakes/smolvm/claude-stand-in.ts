/**
 * A stand-in `claude` for the embedded fake: no model, no network. It reports what a real
 * claude would have been given — the appended system prompt and the skills it would discover —
 * so a launch on the fake can be followed end to end. It says plainly that it is a stand-in.
 */
import { posix } from 'node:path';
import type { GuestCommandHandler } from './guest/process.ts';

export const claudeStandIn: GuestCommandHandler = ({ argv, env, fs, user }) => {
  const args = argv.slice(1);
  const lines = ['[fake claude] stand-in for Claude Code in the in-memory fake smolvm; no model was called'];
  const flag = args.indexOf('--append-system-prompt-file');
  const promptPath = flag === -1 ? undefined : args[flag + 1];
  if (promptPath === undefined) {
    lines.push('system prompt: default (no --append-system-prompt-file)');
  } else {
    try {
      const text = String(fs.readFileSync(promptPath, 'utf8'));
      lines.push(`system prompt: appended ${Buffer.byteLength(text)} bytes from ${promptPath}: ${JSON.stringify(text.split('\n')[0] ?? '')}…`);
    } catch (error) {
      return { exitCode: 1, stderr: `Error: cannot read --append-system-prompt-file ${promptPath}: ${(error as Error).message}\n` };
    }
  }
  const skillsDir = posix.join(env.HOME ?? user.home, '.claude', 'skills');
  const skills: string[] = [];
  try {
    for (const name of (fs.readdirSync(skillsDir) as string[]).sort()) {
      const manifest = String(fs.readFileSync(posix.join(skillsDir, name, 'SKILL.md'), 'utf8'));
      const description = /^description:\s*(.*)$/m.exec(manifest)?.[1]?.trim() ?? '(no description)';
      skills.push(`  ${name}: ${description}`);
    }
  } catch {
    // no skills dir: nothing to discover
  }
  lines.push(skills.length ? `skills in ${skillsDir}:\n${skills.join('\n')}` : `skills: none in ${skillsDir}`);
  const rest = args.filter((_, i) => flag === -1 || (i !== flag && i !== flag + 1));
  lines.push(`args: ${JSON.stringify(rest)}`);
  return { exitCode: 0, stdout: `${lines.join('\n')}\n` };
};
