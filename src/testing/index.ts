// Test kit for backend authors: the engine contract suite (and, with the Docker issue, the bottle contract).
export { describeEngineContract } from './engine-contract.ts';
