/**
 * vitest, for the suites in `claude-bottle/testing`. It is a peer dependency (optional: only
 * test code imports these suites), loaded here so that a project without it gets one clear
 * message instead of a bare "Cannot find package 'vitest'".
 */
import type * as Vitest from 'vitest';

let vitest: typeof Vitest;
try {
  vitest = await import('vitest');
} catch (cause) {
  throw new Error(
    "claude-bottle/testing needs vitest, a peer dependency of claude-bottle: install it in your project (`npm install --save-dev vitest`) and run your backend's tests with `vitest`",
    { cause },
  );
}

export const { afterAll, afterEach, beforeAll, describe, expect, it } = vitest;
export type { TestContext } from 'vitest';
