// The default transport ran on execa once; it is `createProcessTransport` now (./process.ts).
// These names stay so that code written against them keeps working.
export { createProcessTransport as createExecaTransport, type ProcessTransportOptions as ExecaTransportOptions } from './process.ts';
