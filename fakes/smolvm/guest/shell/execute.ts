/**
 * Walking the syntax tree as ash's `evaltree` does: and-or lists with set -e's exemptions,
 * pipelines (each stage a subshell, run to completion in order), compound commands, loops with
 * break/continue, redirections and here-documents, and simple commands: assignments, then
 * special builtins, functions, builtins, or a program found on PATH.
 */
import { fnmatchRegExp } from '../fnmatch.ts';
import { Sink, StdinRef } from '../process.ts';
import type { AndOr, Command, List, Pipeline, Redirect, Word } from './ast.ts';
import { BUILTINS, SPECIAL_BUILTINS } from './builtins.ts';
import { inRef, openFile, outSink, type Fds } from './io.ts';
import type { Shell } from './interpreter.ts';
import { Lexer } from './lexer.ts';
import { ExitShell, LoopSignal, ReturnSignal } from './signals.ts';

export async function runList(sh: Shell, list: List): Promise<number> {
  for (const item of list.items) await andOr(sh, item);
  return sh.status;
}

export async function andOr(sh: Shell, item: AndOr): Promise<number> {
  const last = item.rest.length;
  sh.conditionDepth += last > 0 ? 1 : 0;
  let status: number;
  let ranLast = last === 0;
  try {
    status = await pipeline(sh, item.first);
  } finally {
    sh.conditionDepth -= last > 0 ? 1 : 0;
  }
  for (const [index, step] of item.rest.entries()) {
    if ((step.op === '&&') !== (status === 0)) {
      ranLast = false;
      continue;
    }
    const final = index === last - 1;
    sh.conditionDepth += final ? 0 : 1;
    try {
      status = await pipeline(sh, step.pipeline);
    } finally {
      sh.conditionDepth -= final ? 0 : 1;
    }
    ranLast = final;
  }
  sh.status = status;
  const negated = (last === 0 ? item.first : item.rest.at(-1)?.pipeline)?.negate ?? false;
  if (status !== 0 && sh.options.errexit && sh.conditionDepth === 0 && ranLast && !negated) throw new ExitShell(status);
  return status;
}

export async function pipeline(sh: Shell, pipeline: Pipeline): Promise<number> {
  let status: number;
  if (pipeline.negate) sh.conditionDepth++;
  try {
    if (pipeline.commands.length === 1) status = await command(sh, pipeline.commands[0] as Command);
    else {
      let input = inRef(sh.fds);
      const statuses: number[] = [];
      for (const [index, cmd] of pipeline.commands.entries()) {
        const last = index === pipeline.commands.length - 1;
        const out = last ? outSink(sh.fds, 1) : new Sink();
        const sub = sh.clone(new Map(sh.fds).set(0, { kind: 'in', ref: input }).set(1, { kind: 'out', sink: out }));
        statuses.push(await sub.subshell(() => command(sub, cmd)));
        if (!last) input = new StdinRef(out.bytes());
      }
      status = sh.options.pipefail ? ([...statuses].reverse().find((s) => s !== 0) ?? 0) : (statuses.at(-1) as number);
    }
  } finally {
    if (pipeline.negate) sh.conditionDepth--;
  }
  sh.status = pipeline.negate ? (status === 0 ? 1 : 0) : status;
  return sh.status;
}

export async function command(sh: Shell, cmd: Command): Promise<number> {
  if (sh.p.signal.aborted) throw sh.p.signal.reason;
  sh.line = cmd.line;
  switch (cmd.type) {
    case 'simple':
      return simple(sh, cmd);
    case 'function':
      sh.functions.set(cmd.name, cmd.body);
      return setStatus(sh, 0);
    default:
      return redirected(sh, cmd.redirects, () => compound(sh, cmd));
  }
}

export async function compound(sh: Shell, cmd: Exclude<Command, { type: 'simple' | 'function' }>): Promise<number> {
  switch (cmd.type) {
    case 'group':
      return runList(sh, cmd.body);
    case 'subshell': {
      const sub = sh.clone();
      return setStatus(sh, await sub.subshell(() => sub.list(cmd.body)));
    }
    case 'if': {
      for (const clause of cmd.clauses) {
        if ((await condition(sh, clause.cond)) === 0) return runList(sh, clause.body);
      }
      return cmd.otherwise ? runList(sh, cmd.otherwise) : setStatus(sh, 0);
    }
    case 'while':
    case 'until':
      return loop(sh, async () => ((await condition(sh, cmd.cond)) === 0) === (cmd.type === 'while'), cmd.body);
    case 'for': {
      const items = cmd.items ? await sh.expand((e) => e.fields(cmd.items as Word[])) : [...sh.positional];
      let i = 0;
      return loop(
        sh,
        async () => {
          if (i >= items.length) return false;
          sh.set(cmd.name, items[i++] as string);
          return true;
        },
        cmd.body,
      );
    }
    case 'case': {
      const subject = await sh.expand((e) => e.string(cmd.subject.parts));
      for (const item of cmd.items) {
        for (const pattern of item.patterns) {
          const text = await sh.expand((e) => e.pattern(pattern.parts));
          if (fnmatchRegExp(text).test(subject)) return runList(sh, item.body);
        }
      }
      return setStatus(sh, 0);
    }
  }
}

/** A condition: errexit does not apply inside it. */
export async function condition(sh: Shell, list: List): Promise<number> {
  sh.conditionDepth++;
  try {
    return await runList(sh, list);
  } finally {
    sh.conditionDepth--;
  }
}

export async function loop(sh: Shell, next: () => Promise<boolean>, body: List): Promise<number> {
  let status = 0;
  sh.loopDepth++;
  try {
    while (await next()) {
      try {
        status = await runList(sh, body);
      } catch (error) {
        if (!(error instanceof LoopSignal)) throw error;
        if (error.levels > 1) {
          error.levels--;
          throw error;
        }
        if (error.kind === 'break') break;
      }
    }
  } finally {
    sh.loopDepth--;
  }
  return setStatus(sh, status);
}

/** Apply `redirects` around `work`; a failed one reports and gives 1 without running it. */
export async function redirected(sh: Shell, redirects: readonly Redirect[], work: () => Promise<number>): Promise<number> {
  if (redirects.length === 0) return work();
  const saved = sh.fds;
  const fds = await applyRedirects(sh, redirects, new Map(saved));
  if (!fds) return setStatus(sh, 1);
  sh.fds = fds;
  try {
    return await work();
  } finally {
    sh.fds = saved;
  }
}

export async function applyRedirects(sh: Shell, redirects: readonly Redirect[], fds: Fds): Promise<Fds | undefined> {
  for (const r of redirects) {
    if (r.op === '<<' || r.op === '<<-') {
      const doc = r.heredoc ?? { body: '', quoted: true };
      const body = doc.quoted ? doc.body : await sh.expand((e) => e.string(Lexer.doubleParts(doc.body, sh.line)));
      fds.set(r.fd, { kind: 'in', ref: new StdinRef(new TextEncoder().encode(body)) });
      continue;
    }
    const target = await sh.expand((e) => e.string(r.target.parts));
    if (r.op === '<&' || r.op === '>&') {
      if (target === '-') fds.set(r.fd, { kind: 'closed' });
      else if (/^\d+$/.test(target) && fds.has(Number(target))) fds.set(r.fd, fds.get(Number(target)) ?? { kind: 'closed' });
      else if (r.op === '>&' && !/^\d+$/.test(target)) {
        // `>&FILE` is `>FILE 2>&1` in ash.
        const opened = openFile(sh.p.fs, sh.p.user, sh.cwd, target, '>', sh.umask);
        if (typeof opened === 'string') {
          sh.report(opened);
          return undefined;
        }
        fds.set(1, opened).set(2, opened);
      } else {
        sh.report(`${target}: bad file descriptor`);
        return undefined;
      }
      continue;
    }
    const opened = openFile(sh.p.fs, sh.p.user, sh.cwd, target, r.op, sh.umask);
    if (typeof opened === 'string') {
      sh.report(opened);
      return undefined;
    }
    fds.set(r.fd, opened);
  }
  return fds;
}

export async function simple(sh: Shell, cmd: Extract<Command, { type: 'simple' }>): Promise<number> {
  sh.substStatus = undefined;
  const argv = await sh.expand((e) => e.fields(cmd.words));
  const assigns: Array<[string, string]> = [];
  for (const a of cmd.assigns) assigns.push([a.name, await sh.expand((e) => e.string(a.value.parts))]);
  if (sh.options.xtrace) {
    const shown = [...assigns.map(([k, v]) => `${k}=${quote(v)}`), ...argv.map(quote)];
    if (shown.length) outSink(sh.fds, 2).write(`+ ${shown.join(' ')}\n`);
  }
  if (argv.length === 0) {
    const status = await redirected(sh, cmd.redirects, async () => {
      for (const [k, v] of assigns) sh.set(k, v);
      return sh.substStatus ?? 0;
    });
    return setStatus(sh, status);
  }
  const name = argv[0] as string;
  if (name === 'exec' && argv.length === 1) {
    // `exec` with only redirections changes the shell's own fds.
    const fds = await applyRedirects(sh, cmd.redirects, new Map(sh.fds));
    if (fds) sh.fds = fds;
    return setStatus(sh, fds ? 0 : 1);
  }
  const fn = sh.functions.get(name);
  const builtin = BUILTINS[name];
  const status = await redirected(sh, cmd.redirects, async () => {
    if (builtin && SPECIAL_BUILTINS.has(name)) {
      for (const [k, v] of assigns) sh.set(k, v);
      return builtin(sh, argv);
    }
    if (fn) return withTemporary(sh, assigns, () => call(sh, fn, argv));
    if (builtin) return withTemporary(sh, assigns, async () => builtin(sh, argv));
    return sh.external(argv, Object.fromEntries(assigns));
  });
  return setStatus(sh, status);
}

/** Prefix assignments for a function or regular builtin last as long as it runs. */
export async function withTemporary(sh: Shell, assigns: Array<[string, string]>, work: () => Promise<number>): Promise<number> {
  const saved = assigns.map(([k]) => [k, sh.vars.get(k)] as const);
  for (const [k, v] of assigns) sh.vars.set(k, { value: v, exported: true, readonly: false });
  try {
    return await work();
  } finally {
    for (const [k, v] of saved) v ? sh.vars.set(k, v) : sh.vars.delete(k);
  }
}

export async function call(sh: Shell, body: Command, argv: string[]): Promise<number> {
  const saved = sh.positional;
  sh.positional = argv.slice(1);
  sh.locals.push(new Map());
  try {
    return await command(sh, body);
  } catch (error) {
    if (error instanceof ReturnSignal) return setStatus(sh, error.status);
    throw error;
  } finally {
    sh.positional = saved;
    for (const [k, v] of sh.locals.pop() ?? []) v ? sh.vars.set(k, v) : sh.vars.delete(k);
  }
}

/** How `set -x` shows a word: bare when safe, else in single quotes. */
function quote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}

/** Records a command's exit status as `$?` and returns it. */
function setStatus(sh: Shell, status: number): number {
  sh.status = status;
  return status;
}
