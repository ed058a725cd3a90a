/** The shell's syntax tree: what the lexer and parser produce and the interpreter runs. */

export type ParamOp = '-' | ':-' | '=' | ':=' | '?' | ':?' | '+' | ':+' | '#' | '##' | '%' | '%%' | 'len' | '/' | '//' | ':';

export type Part =
  | { readonly kind: 'lit'; readonly text: string; readonly quoted: boolean }
  | {
      readonly kind: 'param';
      readonly name: string;
      readonly op: ParamOp | null;
      /** The word after the operator (`${x:-WORD}`); for `/` the pattern, with `rep` the replacement. */
      readonly arg: Part[] | null;
      readonly rep?: Part[] | null;
      readonly quoted: boolean;
    }
  | { readonly kind: 'cmd'; readonly script: string; readonly quoted: boolean }
  | { readonly kind: 'arith'; readonly expr: Part[]; readonly quoted: boolean }
  | { readonly kind: 'tilde'; readonly user: string };

export interface Word {
  readonly parts: Part[];
  /** The source text, for reserved words, assignments and heredoc delimiters. */
  readonly raw: string;
}

export type RedirOp = '<' | '>' | '>>' | '>|' | '<&' | '>&' | '<>' | '<<' | '<<-';

export interface Redirect {
  /** The fd written before the operator; otherwise 0 for input, 1 for output. */
  readonly fd: number;
  readonly op: RedirOp;
  readonly target: Word;
  /** Here-documents: the body, and whether the delimiter was quoted (no expansion then). */
  readonly heredoc?: { readonly body: string; readonly quoted: boolean };
}

export interface Assign {
  readonly name: string;
  readonly value: Word;
}

export type Command =
  | { readonly type: 'simple'; readonly assigns: Assign[]; readonly words: Word[]; readonly redirects: Redirect[]; readonly line: number }
  | {
      readonly type: 'if';
      readonly clauses: Array<{ cond: List; body: List }>;
      readonly otherwise: List | null;
      readonly redirects: Redirect[];
      readonly line: number;
    }
  | { readonly type: 'while' | 'until'; readonly cond: List; readonly body: List; readonly redirects: Redirect[]; readonly line: number }
  | { readonly type: 'for'; readonly name: string; readonly items: Word[] | null; readonly body: List; readonly redirects: Redirect[]; readonly line: number }
  | {
      readonly type: 'case';
      readonly subject: Word;
      readonly items: Array<{ patterns: Word[]; body: List }>;
      readonly redirects: Redirect[];
      readonly line: number;
    }
  | { readonly type: 'group' | 'subshell'; readonly body: List; readonly redirects: Redirect[]; readonly line: number }
  | { readonly type: 'function'; readonly name: string; readonly body: Command; readonly line: number };

export interface Pipeline {
  readonly negate: boolean;
  readonly commands: Command[];
}

export interface AndOr {
  readonly first: Pipeline;
  readonly rest: Array<{ readonly op: '&&' | '||'; readonly pipeline: Pipeline }>;
}

export interface List {
  readonly items: AndOr[];
}

/** A parse failure: `sh: syntax error: MESSAGE`, exit 2. */
export class ShellSyntaxError extends Error {
  readonly line: number;
  constructor(message: string, line: number) {
    super(message);
    this.line = line;
  }
}
