/**
 * A launch as an explicit sequence of named steps. Each step may hand back its undo; a step
 * whose effect can exist even when it fails (a `create` the engine completed before erroring)
 * arms its undo before it runs. On failure the undos run in reverse, each once, every one even
 * if another failed; the first undo error is kept for the report.
 */
export type Undo = () => Promise<unknown>;

export interface Step<Name extends string> {
  readonly name: Name;
  /** Runs the step; what it returns is its undo (a step with none may return nothing). */
  run(): Promise<Undo | undefined> | Promise<void>;
  /** An undo safe to run whether or not `run` completed (it checks ownership itself). */
  readonly armedUndo?: Undo;
}

export class StepFailure<Name extends string> extends Error {
  readonly step: Name;
  override readonly cause: unknown;
  readonly undoError: unknown;
  constructor(step: Name, cause: unknown, undoError: unknown) {
    super(`step ${step} failed`);
    this.step = step;
    this.cause = cause;
    this.undoError = undoError;
  }
}

/** Runs `steps` in order; on a failure undoes what was done, in reverse, then throws a StepFailure. */
export async function runSteps<Name extends string>(steps: readonly Step<Name>[], onStep?: (step: Name) => void): Promise<Undo> {
  const undos: Undo[] = [];
  for (const step of steps) {
    onStep?.(step.name);
    if (step.armedUndo) undos.push(step.armedUndo);
    try {
      const undo = await step.run();
      if (undo && !step.armedUndo) undos.push(undo);
    } catch (error) {
      // A step made of steps (the forks' parts, side by side) reports its own rollback's failure too.
      const nested = error instanceof StepFailure ? error : undefined;
      const undoError = await unwind(undos);
      throw new StepFailure(step.name, nested ? nested.cause : error, nested?.undoError ?? undoError);
    }
  }
  return async () => {
    const error = await unwind(undos);
    if (error !== undefined) throw error;
  };
}

async function unwind(undos: Undo[]): Promise<unknown> {
  let first: unknown;
  for (const undo of undos.splice(0).reverse()) {
    try {
      await undo();
    } catch (error) {
      first ??= error;
    }
  }
  return first;
}
