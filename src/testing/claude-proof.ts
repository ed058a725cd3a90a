/**
 * The end-to-end proof, offline, that a bottled `claude` really receives its prompt and skills:
 * launch a bottle whose prompt holds one unique marker and whose skill's description holds
 * another, run the real `claude -p` in it against the Messages API stand-in, and read what claude
 * sent. Any backend can run it: give it an engine, an image with `claude` on PATH (the agent
 * image), and an address on this machine its guests can reach.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from './vitest.ts';
import { readFile } from 'node:fs/promises';
import { parseAgentSpec } from '../agent/spec.ts';
import { bottleRunDir, launch } from '../bottle/launch.ts';
import { CALL_LOG_FILE } from '../daemons/supervise/server.ts';
import type { Engine, GuestUser, NetworkPolicy } from '../engine/types.ts';
import { prepare } from '../plan/prepare.ts';
import { listedSkills, type MessagesApiStandIn, offeredTools, startMessagesApiStandIn, systemText, toolResults } from './messages-api.ts';
import { fakePipelockBin } from './pipelock.ts';

export interface ClaudeProofTarget {
  /** An engine whose machines, on `network`, reach `standInHost`. */
  readonly engine: Engine;
  /** A local image with `claude` on PATH, e.g. `claude-bottle/agent:latest`. */
  readonly image: string;
  /**
   * Where the stand-in listens and the guest dials: an address on this machine only, e.g. the
   * host loopback (with host networking) or the gateway of a network the test created.
   */
  readonly standInHost: string;
  /** The bottle's network; default enabled (the engine decides where that leads). */
  readonly network?: NetworkPolicy;
  /** Default: the image's default (the agent image runs as `node`). */
  readonly user?: GuestUser;
  /** Every argv the engine sent (see `recordCalls`); with it, the proof checks no secret reached argv. */
  readonly calls?: () => readonly (readonly string[])[];
  /**
   * The egress proxy for the MCP case (claude reaches the stand-in, on this host's 127.0.0.1,
   * through it); default the pipelock test double.
   */
  readonly pipelockBin?: string;
  readonly cleanup?: () => Promise<void>;
}

export interface ClaudeProofOptions {
  /** Skip the whole suite, visibly, with this reason. */
  readonly skip?: string;
}

/** What the guest's `claude` needs to run offline against the stand-in: values only ever in env. */
export function standInEnv(standIn: MessagesApiStandIn, apiKey: string): Record<string, string> {
  return {
    ANTHROPIC_BASE_URL: standIn.url,
    ANTHROPIC_API_KEY: apiKey,
    // Without it claude probes its base URL and other hosts first, and waits out their timeouts.
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
  };
}

export function describeClaudeProof(name: string, setup: () => ClaudeProofTarget | Promise<ClaudeProofTarget>, options: ClaudeProofOptions = {}): void {
  describe(`claude proof: ${name}`, () => {
    let target: ClaudeProofTarget | undefined;
    let dir: string | undefined;

    beforeAll(async () => {
      if (options.skip !== undefined) return;
      target = await setup();
      dir = await mkdtemp(join(tmpdir(), 'claude-bottle-proof-'));
    });
    afterAll(async () => {
      await target?.cleanup?.();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('claude -p sends the prompt and the skills to the API, and prints its answer', async (ctx: TestContext) => {
      if (options.skip !== undefined) ctx.skip(options.skip);
      if (!target || !dir) throw new Error('setup did not run');
      const run = randomBytes(6).toString('hex');
      const promptMarker = `PROMPT-MARKER-${run}`;
      const skillMarker = `SKILL-MARKER-${run}`;
      const reply = `STAND-IN-REPLY-${run}`;
      const apiKey = `sk-ant-dummy-${run}`;

      const skillsDir = join(dir, `skills-${run}`);
      await mkdir(join(skillsDir, 'proof-skill'), { recursive: true });
      await writeFile(
        join(skillsDir, 'proof-skill', 'SKILL.md'),
        `---\nname: proof-skill\ndescription: Use this when asked about ${skillMarker}.\n---\n\nAnswer with the marker.\n`,
      );
      const agent = parseAgentSpec({
        name: 'claude-proof',
        prompt: `You are a bottled agent. Your tag is ${promptMarker}.`,
        skills: ['proof-skill'],
        skillsDir,
        image: target.image,
        ...(target.user ? { user: target.user } : {}),
      });
      const plan = await prepare(agent, { env: { ...process.env, CLAUDE_BOTTLE_STATE_DIR: join(dir, `state-${run}`) } });

      await using standIn = await startMessagesApiStandIn({ host: target.standInHost, reply });
      await using bottle = await launch(plan, { engine: target.engine, network: target.network ?? { enabled: true, allowHosts: [], allowCidrs: [] } });
      const result = await bottle.execClaude(['-p', 'hello'], { env: standInEnv(standIn, apiKey), timeoutMs: 180_000 });
      const diagnosis = `exit ${result.exitCode}\nstdout: ${result.stdout}\nstderr: ${result.stderr}\nrequests: ${standIn.requests.map((r) => `${r.method} ${r.url}`).join(', ')}`;

      expect(result.exitCode, diagnosis).toBe(0);
      expect(result.stdout, diagnosis).toContain(reply);
      const [request] = standIn.messageRequests;
      expect(request, diagnosis).toBeDefined();
      if (!request) return;
      expect(request.headers['x-api-key']).toBe(apiKey);
      expect(systemText(request)).toContain(promptMarker);
      expect(listedSkills(request)).toContainEqual({ name: 'proof-skill', description: `Use this when asked about ${skillMarker}.` });
      // Neither the key nor the stand-in's address ever reached an engine's argv.
      for (const argv of target.calls?.() ?? []) {
        expect(argv.join(' ')).not.toContain(apiKey);
        expect(argv.join(' ')).not.toContain(standIn.url);
      }
    });

    it('claude lists and calls report_progress through its MCP config (URL and credential header); the supervise server records the call', async (ctx: TestContext) => {
      if (options.skip !== undefined) ctx.skip(options.skip);
      if (!target || !dir) throw new Error('setup did not run');
      const run = randomBytes(6).toString('hex');
      const marker = `PROGRESS-MARKER-${run}`;
      const final = `MCP-DONE-${run}`;
      const agent = parseAgentSpec({
        name: 'claude-proof-mcp',
        prompt: 'You report your progress to your supervisor.',
        image: target.image,
        ...(target.user ? { user: target.user } : {}),
        supervise: {},
        // claude reaches the stand-in on this host's loopback through the egress proxy, the bottle's only way out.
        egress: { allowHosts: ['localhost'], allowCidrs: ['127.0.0.0/8'] },
      });
      const plan = await prepare(agent, {
        env: { ...process.env, CLAUDE_BOTTLE_STATE_DIR: join(dir, `state-${run}`), PIPELOCK_BIN: target.pipelockBin ?? fakePipelockBin() },
      });
      const tool = `mcp__${plan.supervise?.name ?? 'supervisor'}__report_progress`;
      await using standIn = await startMessagesApiStandIn({
        host: '127.0.0.1',
        // First turn: call the tool (when claude offers it); once its result is back: the final text.
        reply: (request) =>
          toolResults(request).length === 0 && offeredTools(request).includes(tool) ? { toolUse: { name: tool, input: { summary: marker } } } : { text: final },
      });
      await using bottle = await launch(plan, { engine: target.engine });
      // Only the daemons' host bypasses the proxy, so claude's API calls to "localhost" go through it.
      const daemonsHost = new URL(bottle.daemons?.daemons.find((d) => d.name === 'supervise')?.url ?? 'http://x').hostname;
      const env = {
        ...standInEnv(standIn, `sk-ant-dummy-${run}`),
        ANTHROPIC_BASE_URL: `http://localhost:${standIn.port}`,
        NO_PROXY: daemonsHost,
        no_proxy: daemonsHost,
        // claude-code defers MCP tools behind its ToolSearch tool; the proof wants them offered directly.
        ENABLE_TOOL_SEARCH: 'false',
      };
      const result = await bottle.execClaude(['-p', 'Report your progress.', '--allowedTools', tool], { env, timeoutMs: 180_000 });
      const runLog = join(bottleRunDir(plan, bottle.name), CALL_LOG_FILE);
      let recorded = '';
      for (let i = 0; i < 20 && !recorded.includes(marker); i++) {
        recorded = await readFile(runLog, 'utf8').catch(() => '');
        if (!recorded.includes(marker)) await new Promise((r) => setTimeout(r, 100));
      }
      const diagnosis = `exit ${result.exitCode}\nstdout: ${result.stdout}\nstderr: ${result.stderr}\nrequests: ${standIn.requests.map((r) => `${r.method} ${r.url} tools=[${offeredTools(r).join(',')}] mentions tool: ${r.body.includes(tool)}`).join(', ')}`;
      expect(result.exitCode, diagnosis).toBe(0);
      expect(
        standIn.messageRequests.some((r) => offeredTools(r).includes(tool)),
        diagnosis,
      ).toBe(true);
      expect(JSON.parse(recorded.trim().split('\n')[0] ?? '{}'), diagnosis).toMatchObject({ tool: 'report_progress', arguments: { summary: marker } });
      const answered = standIn.messageRequests.flatMap(toolResults);
      expect(answered.map((r) => r.text).join('\n'), diagnosis).toContain('Progress recorded.');
      expect(result.stdout, diagnosis).toContain(final);
    });
  });
}
