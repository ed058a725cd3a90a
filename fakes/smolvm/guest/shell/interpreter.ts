/**
 * The shell's state, as busybox ash keeps it: variables (exported ones reach commands),
 * functions, positional parameters, options, cwd, fds and traps; scripts parsed and run
 * (execute.ts walks the tree), and ash's messages: `ARG0: [CMD: ]line N: MESSAGE`.
 */
import { readPasswd } from '../../images.ts';
import { Sink, type GuestProcess } from '../process.ts';
import { ShellSyntaxError, type Command, type List } from './ast.ts';
import { runList } from './execute.ts';
import { Expander, ExpansionError, type ExpandContext } from './expand.ts';
import { inRef, outSink, type Fds } from './io.ts';
import { parse } from './parser.ts';
import { ExitShell, LoopSignal, ReturnSignal } from './signals.ts';

export { ExitShell, LoopSignal, ReturnSignal };

export interface Variable {
  value: string;
  exported: boolean;
  readonly: boolean;
}

let nextPid = 300;

export class Shell {
  readonly p: GuestProcess;
  vars: Map<string, Variable>;
  functions: Map<string, Command>;
  positional: string[];
  arg0: string;
  /** ash's `commandname`: set when the script has a name ($0 given or a file). */
  commandName: string | undefined;
  options = { errexit: false, nounset: false, xtrace: false, noglob: false, pipefail: false };
  flags = '';
  status = 0;
  cwd: string;
  fds: Fds;
  umask = 0o022;
  line = 0;
  traps = new Map<string, string>();
  locals: Array<Map<string, Variable | undefined>> = [];
  conditionDepth = 0;
  loopDepth = 0;
  readonly pid: number;
  substStatus: number | undefined;

  constructor(p: GuestProcess, arg0: string, positional: string[], fds: Fds) {
    this.p = p;
    this.arg0 = arg0;
    this.positional = positional;
    this.fds = fds;
    this.cwd = p.cwd;
    this.vars = new Map(Object.entries(p.env).map(([k, v]) => [k, { value: v, exported: true, readonly: false }]));
    this.vars.set('PWD', { value: p.cwd, exported: true, readonly: false });
    this.vars.set('IFS', this.vars.get('IFS') ?? { value: ' \t\n', exported: false, readonly: false });
    this.functions = new Map();
    this.pid = nextPid++;
  }

  /** A subshell: a copy of everything, sharing the fds' sinks. */
  clone(fds: Fds = new Map(this.fds)): Shell {
    const sub = Object.create(Shell.prototype) as Shell;
    Object.assign(sub, this, {
      vars: new Map([...this.vars].map(([k, v]) => [k, { ...v }])),
      functions: new Map(this.functions),
      positional: [...this.positional],
      options: { ...this.options },
      fds,
      traps: new Map(),
      locals: [],
    });
    return sub;
  }

  get(name: string): string | undefined {
    return this.vars.get(name)?.value;
  }

  set(name: string, value: string, options: { export?: boolean } = {}): void {
    const v = this.vars.get(name);
    if (v?.readonly) this.fatal(`${name}: is read only`);
    if (v) {
      v.value = value;
      if (options.export) v.exported = true;
    } else this.vars.set(name, { value, exported: options.export ?? false, readonly: false });
  }

  /** The environment a command gets: exported variables, then its prefix assignments. */
  environment(extra: Record<string, string> = {}): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [k, v] of this.vars) if (v.exported) env[k] = v.value;
    return { ...env, ...extra };
  }

  /** ash `ash_vmsg`: `ARG0: [CMD: ]line N: MESSAGE` (the line only when a name is in play). */
  report(message: string, command: string | undefined = this.commandName): void {
    let prefix = `${this.arg0}: `;
    if (command !== undefined) prefix += `${command !== this.arg0 ? `${command}: ` : ''}line ${this.line}: `;
    outSink(this.fds, 2).write(`${prefix}${message}\n`);
  }

  /** An error that ends a non-interactive shell with status 2. */
  fatal(message: string, command?: string): never {
    this.report(message, command);
    throw new ExitShell(2);
  }

  lookup(name: string): string | undefined {
    switch (name) {
      case '?':
        return String(this.status);
      case '#':
        return String(this.positional.length);
      case '$':
        return String(this.pid);
      case '!':
        return '';
      // ash builds $- from its option table in this order.
      case '-':
        return `${this.options.nounset ? 'u' : ''}${this.options.xtrace ? 'x' : ''}${this.flags}${this.options.noglob ? 'f' : ''}${this.options.errexit ? 'e' : ''}`;
      case '0':
        return this.arg0;
      case '@':
      case '*':
        return this.positional.join(' ');
    }
    if (/^\d+$/.test(name)) return this.positional[Number(name) - 1];
    return this.get(name);
  }

  expander(): Expander {
    const context: ExpandContext = {
      lookup: (n) => this.lookup(n),
      positional: () => this.positional,
      assign: (n, v) => this.set(n, v),
      nounset: this.options.nounset,
      noglob: this.options.noglob,
      home: (user) => readPasswd(this.p.fs).find((u) => u.name === user)?.home,
      substitute: (script) => this.substitute(script),
      arith: { get: (n) => this.lookup(n), set: (n, v) => this.set(n, v) },
      readdir: (dir) =>
        this.p.fs.as(this.p.user, () => {
          try {
            return this.p.fs.vol.readdirSync(dir) as string[];
          } catch {
            return undefined;
          }
        }),
      cwd: this.cwd,
    };
    return new Expander(context);
  }

  /** Expansion, turning its fatal errors into ash's exit. */
  async expand<T>(work: (e: Expander) => Promise<T>): Promise<T> {
    try {
      return await work(this.expander());
    } catch (error) {
      if (error instanceof ExpansionError) this.fatal(error.message);
      throw error;
    }
  }

  async substitute(script: string): Promise<string> {
    const out = new Sink();
    const sub = this.clone(new Map(this.fds).set(1, { kind: 'out', sink: out }));
    this.substStatus = await sub.runScript(script, this.line, false);
    return out.text();
  }

  /**
   * Parse and run `script` in this shell; syntax errors print and give 2 (fatal when
   * `exitOnError`). `command` names the builtin doing it (`eval`, `.`) in the message.
   */
  async runScript(script: string, firstLine: number, exitOnError = true, command?: string): Promise<number> {
    let list: List;
    try {
      list = parse(script, firstLine);
    } catch (error) {
      if (!(error instanceof ShellSyntaxError)) throw error;
      this.line = error.line;
      this.report(`syntax error: ${error.message}`, command ?? this.commandName);
      if (exitOnError) throw new ExitShell(2);
      return 2;
    }
    try {
      return await this.list(list);
    } catch (error) {
      if (error instanceof ExitShell && !exitOnError) return error.status;
      throw error;
    }
  }

  /** The whole script: run it, then the EXIT trap; `exit` anywhere ends here. */
  async main(script: string, firstLine: number): Promise<number> {
    let status: number;
    try {
      status = await this.runScript(script, firstLine);
    } catch (error) {
      if (error instanceof ExitShell) status = error.status;
      else if (error instanceof ReturnSignal) status = error.status;
      else if (error instanceof LoopSignal) status = this.status;
      else throw error;
    }
    const trap = this.traps.get('EXIT');
    if (trap !== undefined) {
      this.traps.delete('EXIT');
      this.status = status;
      try {
        await this.runScript(trap, this.line);
      } catch (error) {
        if (error instanceof ExitShell) return error.status;
        throw error;
      }
    }
    return status;
  }

  list(list: List): Promise<number> {
    return runList(this, list);
  }

  /** Run `work` as a subshell: its exit, return or loop escape stays inside. */
  async subshell(work: () => Promise<number>): Promise<number> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof ExitShell || error instanceof ReturnSignal) return error.status;
      if (error instanceof LoopSignal) return this.status;
      throw error;
    }
  }

  async external(argv: string[], assigns: Record<string, string>): Promise<number> {
    const code = await this.p.spawn({
      argv,
      env: this.environment(assigns),
      cwd: this.cwd,
      stdin: inRef(this.fds),
      stdout: outSink(this.fds, 1),
      stderr: outSink(this.fds, 2),
    });
    if (code === null) {
      this.report(`${argv[0]}: not found`);
      return 127;
    }
    return code;
  }
}
