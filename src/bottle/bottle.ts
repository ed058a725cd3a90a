import { ClaudeBottleError } from '../errors.ts';
import { type Owner, ownerOf, removeOwnedMachine, removeOwnedRoute } from '../engine/ownership.ts';
import type { Engine, ExecOptions, ExecResult, ForkBase } from '../engine/types.ts';
import type { Plan } from '../plan/plan.ts';
import { caEnv } from '../provision/ca.ts';

/** `remove()` of a bottle whose forks still exist: they depend on it (`{ cascade: true }` removes them first). */
export class BottleHasForksError extends ClaudeBottleError {
  override name = 'BottleHasForksError';
  readonly forks: readonly string[];
  /** `cascade`: how the caller removes it with its forks (`remove({ cascade: true })`, `rm --cascade <name>`). */
  constructor(bottle: string, forks: readonly string[], cascade = 'remove({ cascade: true })') {
    super(`bottle "${bottle}" has live forks (${forks.join(', ')}); remove them first, or use ${cascade}`);
    this.forks = forks;
  }
}

/** A command for a golden its engine froze as a fork base while forks of it exist (smolvm 1.9). */
export class BottleFrozenError extends ClaudeBottleError {
  override name = 'BottleFrozenError';
  constructor(bottle: string, forks: readonly string[]) {
    super(`bottle "${bottle}" is a frozen fork base while its forks exist (${forks.join(', ')}): it runs commands again once they are removed`);
  }
}

export class BottleRemovedError extends ClaudeBottleError {
  override name = 'BottleRemovedError';
  readonly bottle: string;
  constructor(bottle: string) {
    super(`bottle "${bottle}" has been removed; launch a new one`);
    this.bottle = bottle;
  }
}

/** What a launch leaves behind: enough to find and drive the bottle again from another process. */
export interface BottleRecord {
  readonly name: string;
  readonly backend: string;
  /** The launch's id: the label that proves a machine or network is this bottle's. Absent in records from before 0.2. */
  readonly launchId?: string;
  /** The engine network its host route made, removed with it. */
  readonly network?: string;
  /**
   * `launching`: written before anything is created (the launch's intent), so a launcher killed
   * half-way still leaves a record `prune` can act on. Absent: launched.
   */
  readonly status?: 'launching';
  /** The process holding the bottle's daemons (and, while launching, the launch itself). */
  readonly launcher?: { readonly pid: number; readonly socket?: string };
  /** Host files of this bottle only (plan, proxy config, logs): removed with it. */
  readonly runDir?: string;
  readonly agent: string;
  /** Guest path of the prompt file, present only when the prompt is non-empty. */
  readonly promptPath?: string;
  /** Guest skills dir, present only when the agent has skills. */
  readonly skillsDir?: string;
  /** Names of the agent's env vars; their values stay in the plan file on the host (0600). */
  readonly envKeys: readonly string[];
  readonly planPath?: string;
  readonly createdAt: string;
  /** Flags `claude` gets after the prompt flag (supervise's MCP config). */
  readonly claudeFlags?: readonly string[];
  /** Env the launch derived on the host (the proxy's URLs); not secret, unlike the agent's env. */
  readonly hostEnv?: Readonly<Record<string, string>>;
  /** The host daemons serving it (`daemons_csv`), alive only while its `launch` process runs. */
  readonly daemons?: string;
  /** Set on a fork: the bottle it was forked from. */
  readonly forkOf?: { readonly name: string; readonly launchId?: string };
  /** Set on a fork: what it depends on (an image committed from its golden, or the golden machine). */
  readonly forkBase?: ForkBase;
  /** Set on a golden its engine froze as a fork base (no command may run in it while forks of it exist). */
  readonly frozen?: true;
}

export interface ForkOptions {
  /** The forks' names; default `<golden>-f<k>`, k counting up from 1 past the forks made before. */
  readonly names?: readonly string[];
  /** Their launch ids (to record them before anything is made); default fresh ones. */
  readonly launchIds?: readonly string[];
  /** Where each fork keeps its own host files; default `bottleRunDir(plan, name)`. */
  readonly runDir?: (name: string) => string;
  readonly onStep?: (step: string, machine: string) => void;
  /** Says what the fork did that a caller should know (an engine without fork launching anew). */
  readonly onNotice?: (message: string) => void;
}

/** What every exec in a bottle of this plan carries: the CA variables, then the agent's own env (which wins). */
export function bottleEnv(plan: {
  readonly ca?: { readonly guestPath: string } | undefined;
  readonly agent: Pick<Plan['agent'], 'env'>;
}): Record<string, string> {
  return { ...caEnv(plan), ...plan.agent.env };
}

/** The slice of a running bundle a bottle exposes. */
export interface BottleDaemons {
  readonly csv: string;
  readonly daemons: readonly { readonly name: string; readonly url: string; readonly port: number }[];
}

export interface BottleExecOptions extends Omit<ExecOptions, 'interactive'> {
  readonly interactive?: boolean;
}

/** A started, provisioned machine. `await using` removes it. */
export class Bottle implements AsyncDisposable {
  readonly name: string;
  /** The id on every label of this launch (`LAUNCH_LABEL`); `remove()` deletes only what carries it. */
  readonly launchId: string | undefined;
  /** The engine network its host route made, if any. */
  readonly network: string | undefined;
  readonly engine: Engine;
  readonly promptPath: string | undefined;
  readonly skillsDir: string | undefined;
  /** The agent's environment, applied to every exec (values travel outside argv). */
  readonly env: Readonly<Record<string, string>>;
  readonly user: Plan['agent']['user'];
  /** Flags `claude` always gets after the prompt flag (supervise's `--mcp-config … --strict-mcp-config`). */
  readonly claudeFlags: readonly string[];
  /** The part of `env` the launch derived on the host (proxy URLs), kept apart from the agent's secrets. */
  readonly hostEnv: Readonly<Record<string, string>>;
  /** The host daemons serving this bottle (`daemons.csv` is the original `daemons_csv`); absent when none. */
  readonly daemons: BottleDaemons | undefined;
  /** The plan it was launched from (absent on a bottle reopened without it): forks start from it. */
  readonly plan: Plan | undefined;
  /** On a fork: its golden, and what it depends on. */
  readonly forkOf: { readonly name: string; readonly launchId?: string } | undefined;
  readonly forkBase: ForkBase | undefined;
  readonly #onRemove: (() => Promise<void>) | undefined;
  readonly #forker: ((count: number, options: ForkOptions) => Promise<Bottle[]>) | undefined;
  #removed = false;
  /** Live forks made through this handle. */
  readonly #forks = new Set<Bottle>();
  #golden: Bottle | undefined;
  /** The engine froze it as a fork base (smolvm 1.9): no exec until its forks are gone, then a restart. */
  #frozen = false;

  constructor(fields: {
    name: string;
    /** Without it (a record from before 0.2) `remove()` accepts any machine labelled `claude-bottle=1`. */
    launchId?: string | undefined;
    network?: string | undefined;
    engine: Engine;
    promptPath?: string | undefined;
    skillsDir?: string | undefined;
    env?: Readonly<Record<string, string>>;
    user: Plan['agent']['user'];
    claudeFlags?: readonly string[];
    hostEnv?: Readonly<Record<string, string>>;
    daemons?: BottleDaemons;
    /** Runs once the machine is gone (stops the daemons, frees the route). */
    onRemove?: () => Promise<void>;
    plan?: Plan;
    forkOf?: { readonly name: string; readonly launchId?: string };
    forkBase?: ForkBase;
    frozen?: boolean;
    /** Makes forks of this bottle (`fork()`); set by `launch`. */
    forker?: (count: number, options: ForkOptions) => Promise<Bottle[]>;
  }) {
    this.name = fields.name;
    this.launchId = fields.launchId;
    this.network = fields.network;
    this.engine = fields.engine;
    this.promptPath = fields.promptPath;
    this.skillsDir = fields.skillsDir;
    this.env = fields.env ?? {};
    this.user = fields.user;
    this.claudeFlags = fields.claudeFlags ?? [];
    this.hostEnv = fields.hostEnv ?? {};
    this.daemons = fields.daemons;
    this.#onRemove = fields.onRemove;
    this.plan = fields.plan;
    this.forkOf = fields.forkOf;
    this.forkBase = fields.forkBase;
    this.#frozen = fields.frozen === true;
    this.#forker = fields.forker;
  }

  /** Live forks made through this handle. */
  get forks(): readonly Bottle[] {
    return [...this.#forks];
  }

  get frozen(): boolean {
    return this.#frozen;
  }

  /**
   * `count` new bottles from this one as it is now: each a bottle like any other (exec, claude,
   * remove), with its prompt, skills and clone already in place, its own name, git branch under
   * the agent's prefix, daemons and credentials. At the engine's cost of a fork where it has one
   * (`capabilities.fork`), else by launching each anew (`onNotice` says so).
   */
  async fork(count: number, options: ForkOptions = {}): Promise<Bottle[]> {
    if (this.#removed) throw new BottleRemovedError(this.name);
    if (!this.#forker) throw new ClaudeBottleError(`bottle "${this.name}" cannot fork here: it was reopened without its plan`);
    return this.#forker(count, options);
  }

  /** For `forkBottle`: the forks it made, and whether the engine froze this bottle to make them. */
  adoptForks(forks: readonly Bottle[], frozen: boolean): void {
    for (const fork of forks) {
      this.#forks.add(fork);
      fork.#golden = this;
    }
    if (frozen) this.#frozen = true;
  }

  get backend(): string {
    return this.engine.kind;
  }

  get removed(): boolean {
    return this.#removed;
  }

  /** The guest command's own exit code, stdout and stderr; a non-zero exit does not throw. */
  async exec(argv: readonly string[], options: BottleExecOptions = {}): Promise<ExecResult> {
    if (this.#removed) throw new BottleRemovedError(this.name);
    if (this.#frozen) await this.thaw();
    const env = { ...this.env, ...options.env };
    return this.engine.exec(this.name, argv, {
      ...options,
      ...(Object.keys(env).length ? { env } : {}),
      user: options.user ?? { uid: this.user.uid, gid: this.user.gid },
    });
  }

  /** `claude`, with `--append-system-prompt-file` exactly when the agent has a prompt, then `args`. */
  claudeArgv(args: readonly string[] = []): string[] {
    return ['claude', ...(this.promptPath ? ['--append-system-prompt-file', this.promptPath] : []), ...this.claudeFlags, ...args];
  }

  async execClaude(args: readonly string[] = [], options: BottleExecOptions = {}): Promise<ExecResult> {
    return this.exec(this.claudeArgv(args), options);
  }

  /** Idempotent. */
  async stop(): Promise<void> {
    if (this.#removed) return;
    if (this.#forks.size > 0 && this.#frozen)
      throw new BottleFrozenError(
        this.name,
        this.forks.map((f) => f.name),
      );
    await this.engine.stop(this.name);
  }

  /** A frozen fork base runs commands again once its forks are gone: a stop and a (cold) start. */
  async thaw(): Promise<void> {
    if (!this.#frozen) return;
    if (this.#forks.size > 0)
      throw new BottleFrozenError(
        this.name,
        this.forks.map((f) => f.name),
      );
    await this.engine.stop(this.name);
    await this.engine.start(this.name);
    this.#frozen = false;
  }

  get #owner(): Owner {
    return ownerOf(this);
  }

  /**
   * Idempotent: deletes the machine, stops the daemons, then deletes the route's network; each
   * only after reading back this launch's label on it. A namesake that is not ours is left alone
   * (`removeOutcome` says so).
   */
  async remove(options: { readonly cascade?: boolean } = {}): Promise<void> {
    if (this.#removed) return;
    if (this.#forks.size > 0) {
      if (!options.cascade)
        throw new BottleHasForksError(
          this.name,
          this.forks.map((f) => f.name),
        );
      for (const fork of this.forks) await fork.remove({ cascade: true });
    }
    this.removeOutcome = await removeOwnedMachine(this.engine, this.name, this.#owner);
    this.#removed = true;
    if (this.#golden) this.#golden.#forks.delete(this);
    try {
      // An image committed for forks goes with the last of them (the engine checks none is left).
      if (this.forkBase) await this.engine.removeForkBase?.(this.forkBase);
    } finally {
      // The daemons and their run dir, also when that failed: a retry would find the bottle removed.
      await this.#onRemove?.();
    }
    if (this.network !== undefined) await removeOwnedRoute(this.engine, [this.network], this.#owner);
  }

  /** What `remove()` found: `foreign` when a machine of this name exists but is not this bottle. */
  removeOutcome: 'removed' | 'absent' | 'foreign' | undefined;

  /**
   * The same bottle, driven through another handle on its engine (e.g. after a CLI process
   * reopened its backend); removing it still stops this bottle's daemons.
   */
  reattach(engine: Engine): Bottle {
    return new Bottle({
      name: this.name,
      launchId: this.launchId,
      network: this.network,
      engine,
      promptPath: this.promptPath,
      skillsDir: this.skillsDir,
      env: this.env,
      user: this.user,
      claudeFlags: this.claudeFlags,
      hostEnv: this.hostEnv,
      ...(this.daemons ? { daemons: this.daemons } : {}),
      ...(this.#onRemove ? { onRemove: this.#onRemove } : {}),
      ...(this.plan ? { plan: this.plan } : {}),
      ...(this.forkOf ? { forkOf: this.forkOf } : {}),
      ...(this.forkBase ? { forkBase: this.forkBase } : {}),
      frozen: this.#frozen,
    });
  }

  /** Removes its forks too. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.remove({ cascade: true });
  }

  toRecord(extra: { agent: string; planPath?: string; createdAt?: string }): BottleRecord {
    return {
      name: this.name,
      backend: this.backend,
      ...(this.launchId !== undefined ? { launchId: this.launchId } : {}),
      ...(this.network !== undefined ? { network: this.network } : {}),
      agent: extra.agent,
      ...(this.promptPath ? { promptPath: this.promptPath } : {}),
      ...(this.skillsDir ? { skillsDir: this.skillsDir } : {}),
      envKeys: Object.keys(this.env),
      ...(extra.planPath ? { planPath: extra.planPath } : {}),
      createdAt: extra.createdAt ?? new Date().toISOString(),
      ...(this.claudeFlags.length ? { claudeFlags: this.claudeFlags } : {}),
      ...(Object.keys(this.hostEnv).length ? { hostEnv: this.hostEnv } : {}),
      ...(this.daemons ? { daemons: this.daemons.csv } : {}),
      ...(this.forkOf ? { forkOf: this.forkOf } : {}),
      ...(this.forkBase ? { forkBase: this.forkBase } : {}),
      ...(this.#frozen ? { frozen: true as const } : {}),
    };
  }
}
