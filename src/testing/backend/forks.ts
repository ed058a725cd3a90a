/**
 * Forks: N bottles from one provisioned golden. Each fork sees the golden's prompt and skills; a
 * file written in one fork is seen in no other fork, nor in the golden; removing the forks leaves
 * the golden (and whatever the fork was made from goes with the last of them); removing the
 * golden with cascade removes all; with git, each fork pushes only its own branches. An engine
 * without a fork (`capabilities.fork`) launches each copy anew: the same cases hold for it.
 */
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { BottleHasForksError } from '../../bottle/bottle.ts';
import { GUEST_MCP_CONFIG_FILE } from '../../plan/plan.ts';
import { hostGit, hostRepo } from '../doubles.ts';
import { CONTRACT_USER, type ContractContext, PROMPT, PROMPT_FILE, SKILLS, SKILLS_DIR } from './context.ts';
import { expect } from '../vitest.ts';

export function forkCases(ctx: ContractContext): void {
  const { test, launchAgent, planFor, launchPlan, sh, run, bottles } = ctx;
  const skillFile = `${SKILLS_DIR}/changelog/SKILL.md`;

  test(
    "forks see the golden's prompt and skills; a file one fork writes is in no other fork, nor in the golden",
    async ({ engine }) => {
      const golden = await launchAgent({ prompt: PROMPT, skills: ['changelog'] });
      const forks = await golden.fork(2);
      for (const fork of forks) bottles.add(fork);
      expect(forks.map((f) => f.name)).toEqual([`${golden.name}-f1`, `${golden.name}-f2`]);
      for (const fork of forks) {
        expect(fork.forkOf?.name).toBe(golden.name);
        expect((await fork.exec(['cat', PROMPT_FILE])).stdout, fork.name).toBe(PROMPT);
        expect(await sh(fork, `stat -c '%a %u %g' "$1"; cat "$1"`, skillFile)).toBe(`644 1000 1000\n${SKILLS['changelog/SKILL.md']?.[0]}`);
        expect((await engine.status(fork.name))?.state, fork.name).toBe('running');
      }
      const [a, b] = forks as [(typeof forks)[0], (typeof forks)[0]];
      await sh(a, 'echo "$1" > "$2"', `written in ${a.name}`, `${CONTRACT_USER.home}/fork-note`);
      expect((await b.exec(['cat', `${CONTRACT_USER.home}/fork-note`])).exitCode, 'the other fork').not.toBe(0);
      // The golden may be frozen while its forks live (smolvm); it answers again once they are gone.
      for (const fork of forks) await fork.remove();
      expect((await golden.exec(['cat', `${CONTRACT_USER.home}/fork-note`])).exitCode, 'the golden').not.toBe(0);
      expect((await golden.exec(['cat', PROMPT_FILE])).stdout).toBe(PROMPT);
    },
    { kind: 'daemons' },
  );

  test(
    'removing the forks leaves the golden and what the forks were made from goes with them; cascade removes all',
    async ({ engine }) => {
      const golden = await launchAgent({ prompt: PROMPT });
      const forks = await golden.fork(2);
      for (const fork of forks) bottles.add(fork);
      await expect(golden.remove()).rejects.toBeInstanceOf(BottleHasForksError);
      for (const fork of forks) {
        await fork.remove();
        expect(await engine.status(fork.name), fork.name).toBeUndefined();
      }
      expect(await engine.status(golden.name)).toBeDefined();
      // What the forks were made from is done with: an image on engines that list fork bases, gone;
      // elsewhere (smolvm) the golden itself, which runs commands again.
      if (engine.listForkBases) expect((await engine.listForkBases(ctx.agentLabels)).map((b) => b.base)).toEqual([]);
      else expect((await golden.exec(['true'])).exitCode).toBe(0);

      const again = await golden.fork(3);
      for (const fork of again) bottles.add(fork);
      await golden.remove({ cascade: true });
      for (const machine of [golden.name, ...again.map((f) => f.name)]) expect(await engine.status(machine), machine).toBeUndefined();
      expect(await ctx.leftovers()).toEqual([]);
      if (engine.listForkBases) expect((await engine.listForkBases(ctx.agentLabels)).map((b) => b.base)).toEqual([]);
    },
    { kind: 'daemons' },
  );

  test(
    'each fork has its own supervise server and credential; its MCP config names them',
    async () => {
      const golden = await launchAgent({ prompt: PROMPT, supervise: {} });
      const forks = await golden.fork(2);
      for (const fork of forks) bottles.add(fork);
      const mcpConfig = async (bottle: typeof golden): Promise<{ url: string; auth: string }> => {
        const config = JSON.parse((await bottle.exec(['cat', `${CONTRACT_USER.home}/${GUEST_MCP_CONFIG_FILE}`])).stdout) as {
          mcpServers: Record<string, { url: string; headers: { Authorization: string } }>;
        };
        const server = Object.values(config.mcpServers)[0];
        return { url: server?.url ?? '', auth: server?.headers.Authorization ?? '' };
      };
      const seen = [];
      for (const fork of forks) {
        const own = fork.daemons?.daemons.find((d) => d.name === 'supervise');
        expect(own, fork.name).toBeDefined();
        const config = await mcpConfig(fork);
        expect(new URL(config.url).port, fork.name).toBe(String(own?.port));
        seen.push(config);
      }
      const golds = golden.daemons?.daemons.find((d) => d.name === 'supervise');
      expect(new Set([String(golds?.port), ...seen.map((c) => new URL(c.url).port)]).size).toBe(3);
      expect(new Set(seen.map((c) => c.auth)).size).toBe(2);
    },
    { kind: 'daemons', needs: ['hostRoute'] },
  );

  test(
    'with git, each fork is on its own branch and pushes only its own branches',
    async ({ gitImage }, tc) => {
      if (gitImage === undefined) return tc.skip('the backend offers no gitImage (an image like image, with git)');
      const repo = await mkdtemp(join(ctx.work(), 'fork-repo-'));
      await hostRepo(repo, { 'README.md': `host ${run}\n` });
      const plan = await planFor({ image: gitImage, git: { repo } });
      const { bottle: golden } = await launchPlan(plan);
      const forks = await golden.fork(2);
      for (const fork of forks) bottles.add(fork);
      const workspace = plan.git?.workspace ?? '';
      const prefix = plan.git?.prefix ?? '';
      for (const [k, fork] of forks.entries()) {
        const branch = `${prefix}f${k + 1}/work`;
        expect(await sh(fork, 'git -C "$1" rev-parse --abbrev-ref HEAD', workspace)).toBe(`${branch}\n`);
        const pushed = await fork.exec([
          'sh',
          '-c',
          'cd "$1" && echo "$2" > fork.txt && git add fork.txt && git commit -q -m fork && git push -q && git rev-parse HEAD',
          'sh',
          workspace,
          fork.name,
        ]);
        expect(pushed.exitCode, pushed.stderr).toBe(0);
        expect(await hostGit(repo, 'rev-parse', `refs/heads/${branch}`)).toBe(pushed.stdout.trim());
        // Not the golden's branch, nor another fork's.
        for (const other of [plan.git?.branch ?? '', `${prefix}f${2 - k}/work`]) {
          const refused = await fork.exec(['git', '-C', workspace, 'push', 'origin', `HEAD:refs/heads/${other}`]);
          expect(refused.exitCode, `${fork.name} → ${other}`).not.toBe(0);
        }
      }
    },
    { kind: 'daemons', needs: ['hostRoute'] },
  );
}
