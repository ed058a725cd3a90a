/**
 * The behaviour every backend must show at the bottle level: `prepare` + `launch` + `Bottle`
 * through the backend's Engine, against a real guest. The engine contract checks the adapter's
 * verbs one by one; this one checks what a user of the SDK sees. Guest commands stay within a
 * busybox `sh`, so the same suite runs on docker, smolvm and the fake; only the git gate case
 * needs `git` in the guest (`gitImage`), and is skipped without it.
 */
import { describe } from '../vitest.ts';
import { type BackendContractOptions, type BackendUnderTest, createContext } from './context.ts';
import { coreCases } from './core.ts';
import { faultCases } from './faults.ts';
import { forkFaultCases } from './fork-faults.ts';
import { forkCases } from './forks.ts';
import { ownershipCases } from './ownership.ts';
import { planCases } from './plans.ts';

export function describeBackendContract(
  name: string,
  makeBackend: () => Promise<BackendUnderTest> | BackendUnderTest,
  options: BackendContractOptions = {},
): void {
  describe(`backend contract: ${name}`, () => {
    const ctx = createContext(makeBackend, options);
    coreCases(ctx);
    planCases(ctx);
    faultCases(ctx);
    ownershipCases(ctx);
    forkCases(ctx);
    forkFaultCases(ctx);
  });
}
