/** The core cases: the prompt and skills land as they should, exec and removal behave, secrets stay out of argv. */
import { expect } from '../vitest.ts';
import { BottleRemovedError } from '../../bottle/bottle.ts';
import { launch } from '../../bottle/launch.ts';
import { EngineCommandError } from '../../errors.ts';
import { GUEST_SKILLS_DIR_ENV } from '../../plan/plan.ts';
import { CONTRACT_USER, type ContractContext, PROMPT, PROMPT_FILE, SKILLS, SKILLS_DIR } from './context.ts';

export function coreCases(ctx: ContractContext): void {
  const { test, launchAgent, planFor, sh, installClaude, leftovers, launched, run } = ctx;

  test('the prompt lands at ~/.claude-bottle-prompt.txt: exact content, mode 0600, owned by the agent user', async () => {
    const bottle = await launchAgent({ prompt: PROMPT });
    expect(bottle.promptPath).toBe(PROMPT_FILE);
    expect((await bottle.exec(['cat', PROMPT_FILE])).stdout).toBe(PROMPT);
    expect(await sh(bottle, `stat -c '%F %a %u %g %s' "$1"`, PROMPT_FILE)).toBe(`regular file 600 1000 1000 ${Buffer.byteLength(PROMPT)}\n`);
  });

  test('an empty prompt still lands, but gives no promptPath', async () => {
    const bottle = await launchAgent({ prompt: '' });
    expect(bottle.promptPath).toBeUndefined();
    expect(await sh(bottle, `stat -c '%a %u %g %s' "$1"`, PROMPT_FILE)).toBe('600 1000 1000 0\n');
  });

  test('skills land under ~/.claude/skills/<name>/ with their modes, owned by the agent user', async () => {
    const bottle = await launchAgent({ skills: ['code-review', 'changelog'] });
    expect(bottle.skillsDir).toBe(SKILLS_DIR);
    const expected = Object.entries(SKILLS).map(([path, [, mode]]) => {
      const guestPath = `${SKILLS_DIR}/${path.replace(/\/$/, '')}`;
      return `${guestPath} ${path.endsWith('/') ? 'directory' : 'regular file'} ${mode.toString(8)} 1000 1000`;
    });
    const paths = expected.map((line) => line.split(' ')[0] as string);
    expect((await sh(bottle, `stat -c '%n %F %a %u %g' "$@"`, ...paths)).trim().split('\n')).toEqual(expected);
    // The dirs between home and the skills are the user's too, so Claude Code can add its own.
    expect(await sh(bottle, `stat -c '%u %g' "$1" "$2"`, `${CONTRACT_USER.home}/.claude`, SKILLS_DIR)).toBe('1000 1000\n'.repeat(2));
    expect(await sh(bottle, 'ls -a "$1"', SKILLS_DIR)).toBe('.\n..\nchangelog\ncode-review\n');
    for (const [path, [content]] of Object.entries(SKILLS).filter(([path]) => !path.endsWith('/'))) {
      expect((await bottle.exec(['cat', `${SKILLS_DIR}/${path}`])).stdout, path).toBe(content);
    }
    // The executable bit survives: the agent user can run the skill's script.
    expect(await bottle.exec([`${SKILLS_DIR}/code-review/scripts/check.sh`])).toMatchObject({ exitCode: 0, stdout: 'check ok\n' });
    expect(await sh(bottle, 'ls -a /tmp')).not.toMatch(/claude-bottle/);
  });

  test(`${GUEST_SKILLS_DIR_ENV} moves the skills`, async () => {
    const dir = `/opt/cb-${run}-skills`;
    const bottle = await launchAgent({ skills: ['changelog'] }, { [GUEST_SKILLS_DIR_ENV]: dir });
    expect(bottle.skillsDir).toBe(dir);
    expect(await sh(bottle, `stat -c '%a %u %g' "$1"; cat "$1"`, `${dir}/changelog/SKILL.md`)).toBe(`644 1000 1000\n${SKILLS['changelog/SKILL.md']?.[0]}`);
    expect((await bottle.exec(['stat', SKILLS_DIR])).exitCode).not.toBe(0);
  });

  test('execClaude runs claude with --append-system-prompt-file exactly when there is a prompt', async () => {
    const withPrompt = await launchAgent({ prompt: PROMPT });
    await installClaude(withPrompt);
    expect(await withPrompt.execClaude(['-p', 'review HEAD'])).toMatchObject({
      exitCode: 0,
      stdout: `--append-system-prompt-file\n${PROMPT_FILE}\n-p\nreview HEAD\n`,
    });

    const without = await launchAgent({ prompt: '' });
    await installClaude(without);
    expect(await without.execClaude(['-p', 'review HEAD'])).toMatchObject({ exitCode: 0, stdout: '-p\nreview HEAD\n' });
  });

  test('exec gives the guest exit code, stdout and stderr; a non-zero exit does not throw', async () => {
    const bottle = await launchAgent();
    for (const code of [0, 3, 42]) {
      const result = await bottle.exec(['sh', '-c', `echo out ${code}; echo err ${code} >&2; exit ${code}`]);
      expect(result, `exit ${code}`).toMatchObject({ exitCode: code, stdout: `out ${code}\n`, stderr: `err ${code}\n` });
    }
  });

  test('exec stdout is byte-exact', async () => {
    const bottle = await launchAgent();
    const result = await bottle.exec(['printf', '\\000\\001\\377']);
    expect(result.exitCode).toBe(0);
    expect([...result.stdoutBytes]).toEqual([0, 1, 255]);
  });

  test('stop and remove are idempotent; a removed bottle refuses exec, and so does the engine', async ({ engine }) => {
    const bottle = await launchAgent();
    await bottle.stop();
    await bottle.stop();
    expect((await engine.status(bottle.name))?.state).toBe('stopped');
    await bottle.remove();
    await bottle.remove();
    await bottle.stop();
    expect(bottle.removed).toBe(true);
    expect(await engine.status(bottle.name)).toBeUndefined();
    expect(await leftovers()).not.toContain(bottle.name);

    await expect(bottle.exec(['true'])).rejects.toBeInstanceOf(BottleRemovedError);
    await expect(bottle.execClaude()).rejects.toThrow(`bottle "${bottle.name}" has been removed`);
    const error = await engine.exec(bottle.name, ['true']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineCommandError);
    expect((error as EngineCommandError).kind).toBe('not-found');
  });

  test(
    'exec runs as the agent user',
    async () => {
      const bottle = await launchAgent();
      expect(await sh(bottle, 'id -u; id -g')).toBe(`${CONTRACT_USER.uid}\n${CONTRACT_USER.gid}\n`);
      // The engine runs any other user asked for, too.
      expect((await bottle.engine.exec(bottle.name, ['id', '-u'], { user: { uid: 0, gid: 0 } })).stdout).toBe('0\n');
    },
    { needs: ['execAsUser'] },
  );

  test('concurrent launches give distinct, running, provisioned bottles', async ({ engine }) => {
    const plan = await planFor({ prompt: PROMPT, skills: ['changelog'] });
    const settled = await Promise.allSettled(Array.from({ length: 5 }, () => launch(plan, { engine })));
    for (const result of settled) if (result.status === 'fulfilled') launched.add(result.value.name);
    const bottles = settled.map((result) => (result.status === 'fulfilled' ? result.value : expect.fail(String(result.reason))));
    const names = bottles.map((bottle) => bottle.name);
    expect(new Set(names).size).toBe(5);
    expect((await leftovers()).sort()).toEqual([...names].sort());
    for (const bottle of bottles) {
      expect((await engine.status(bottle.name))?.state, bottle.name).toBe('running');
      expect((await bottle.exec(['cat', PROMPT_FILE])).stdout, bottle.name).toBe(PROMPT);
      expect(await sh(bottle, `stat -c '%a %u %g' "$1"`, `${SKILLS_DIR}/changelog/SKILL.md`)).toBe('644 1000 1000\n');
    }
  });

  test('secrets in the agent env and a per-exec env reach the guest, never argv', async ({ calls }, tc) => {
    if (!calls) return tc.skip('the backend records no calls, so argv cannot be checked');
    const agentSecret = `agent-${run}-s3cr3t`;
    const execSecret = `exec ${run} "quoted" $dollar 'single'`;
    const bottle = await launchAgent({ env: { CB_AGENT_SECRET: agentSecret } });
    const result = await bottle.exec(['sh', '-c', 'printf %s "$CB_AGENT_SECRET"']);
    expect(result).toMatchObject({ exitCode: 0, stdout: agentSecret });
    const perExec = await bottle.exec(['sh', '-c', 'printf "%s|%s" "$CB_AGENT_SECRET" "$CB_EXEC_SECRET"'], { env: { CB_EXEC_SECRET: execSecret } });
    expect(perExec).toMatchObject({ exitCode: 0, stdout: `${agentSecret}|${execSecret}` });
    const leaks = calls().filter((argv) => argv.some((arg) => arg.includes(agentSecret) || arg.includes(execSecret)));
    expect(leaks).toEqual([]);
  });
}
