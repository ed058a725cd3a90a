/** The faithful in-memory fake of the `smolvm` CLI (v1.9.2), usable as a `Transport`. */
export {
  createFakeSmolvm,
  FakeSmolvm,
  type CallRecord,
  type Fault,
  type FaultMatch,
  type FakeSmolvmOptions,
  type MachineView,
} from './smolvm/fake.ts';
export type { HostFs } from './smolvm/host-fs.ts';
export { fakeResolver, systemResolver, type HostResolver } from './smolvm/dns.ts';
export type { FakeImage, ImageConfig, ImageFile } from './smolvm/images.ts';
export type { GuestEntry, GuestUser } from './smolvm/guest-fs.ts';
export type { FakeSmolvmState, MachineRecord, MachineState, ResolvedState, VmmState } from './smolvm/records.ts';
export type { GuestCommandContext, GuestCommandHandler, GuestCommandResult } from './smolvm/guest/process.ts';
export { openPersistentFakeSmolvm, type PersistentFakeSmolvm } from './smolvm/persistent.ts';
export { claudeStandIn } from './smolvm/claude-stand-in.ts';
// The fake is a Transport: its types, for users of this entry point alone.
export type { CommandResult, RunOptions, Transport } from '../src/transport/types.ts';
