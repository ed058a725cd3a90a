/**
 * `machine cp` (§2): one regular file each way. Uploads are staged beside the target and renamed
 * over it (root:root 0644 unless told otherwise); downloads truncate the local file first and
 * delete it again if the guest read fails, as `read_file_to_path_capped` does.
 */
import { posix } from 'node:path';
import type { ParsedArgs } from './clap.ts';
import { ROOT } from './guest-fs.ts';
import { runningMachine } from './lifecycle.ts';
import { CommandFailure, type Io, type Machine, type SmolvmModel } from './model.ts';
import * as t from './texts.ts';

/** Files above this go through the agent's streaming upload, whose steps name the error. */
const SINGLE_SHOT_MAX = 1024 * 1024;
/** The agent is the VM's init process. */
const AGENT_PID = 1;

export async function cp(model: SmolvmModel, args: ParsedArgs, io: Io): Promise<number> {
  const [src, dst] = args.positionals as [string, string];
  // SRC is checked first: a local source containing `:` reads as a download (§2 quirks).
  const download = src.includes(':');
  const remote = download ? src : dst.includes(':') ? dst : undefined;
  if (remote === undefined) throw new CommandFailure(t.cpNeedsMachinePath);
  const colon = remote.indexOf(':');
  const name = remote.slice(0, colon);
  const guestPath = remote.slice(colon + 1);
  const local = download ? dst : src;
  if (download && (args.has('mode') || args.has('uid') || args.has('gid'))) {
    throw new CommandFailure(t.cpMetaOnDownload);
  }
  const machine = runningMachine(model, name);
  const startedAt = performance.now();

  if (download) {
    try {
      await model.hostFs.writeFile(local, new Uint8Array());
    } catch (error) {
      throw new CommandFailure(t.writeLocalFile(local, t.ioError(codeOf(error))));
    }
    let data: Uint8Array;
    try {
      data = readGuestFile(machine, guestPath);
    } catch (error) {
      await model.hostFs.unlink(local).catch(() => {});
      throw error;
    }
    await model.hostFs.writeFile(local, data);
    io.stderr.write(t.progressLine(`Downloading ${guestPath} -> ${local}`, data.length, null, performance.now() - startedAt));
    return 0;
  }

  const rawMode = args.one('mode');
  const mode = rawMode === undefined ? undefined : parseOctalMode(rawMode);
  const uid = args.one('uid') === undefined ? undefined : Number(args.one('uid'));
  const gid = args.one('gid') === undefined ? undefined : Number(args.one('gid'));
  let isDirectory: boolean;
  try {
    isDirectory = (await model.hostFs.stat(local)).isDirectory();
  } catch (error) {
    throw new CommandFailure(t.readLocalFile(local, t.ioError(codeOf(error))));
  }
  // Opening a directory succeeds; reading it is what fails (inferred from code, §2).
  if (isDirectory) throw new CommandFailure(t.readSourceFile(t.ioError('EISDIR')));
  let data: Uint8Array;
  try {
    const content = await model.hostFs.readFile(local);
    data = typeof content === 'string' ? new TextEncoder().encode(content) : content;
  } catch (error) {
    throw new CommandFailure(t.readSourceFile(t.ioError(codeOf(error))));
  }
  writeGuestFile(model, machine, guestPath, data, { mode, uid, gid });
  io.stderr.write(t.progressLine(`Uploading ${local} -> ${guestPath}`, data.length, data.length, performance.now() - startedAt));
  return 0;
}

/** `parse_octal_mode`: `644`, `0755`, `0o600`, at most 0o7777. */
function parseOctalMode(raw: string): number {
  const digits = raw.startsWith('0o') ? raw.slice(2) : raw;
  if (!/^[+]?[0-7]+$/.test(digits) || Number.parseInt(digits, 8) > 0o7777) throw new CommandFailure(t.cpBadMode(raw));
  return Number.parseInt(digits, 8);
}

/**
 * `normalize_guest_path`: a leading `/` is added and `..` refused. Rust's `Path::components`
 * drops `.` and empty segments in an absolute path, so those pass. The container path (image
 * machines) does not normalise in 1.9.2; the fake refuses `..` there too, so nothing relies on it.
 */
function normalizeGuestPath(raw: string, operation: string): string {
  if (raw === '') throw new CommandFailure(t.agentFailed(operation, t.invalidGuestPath(raw, 'path is empty')));
  const absolute = raw.startsWith('/') ? raw : `/${raw}`;
  if (absolute.split('/').includes('..')) {
    throw new CommandFailure(t.agentFailed(operation, t.invalidGuestPath(raw, 'parent traversal is not allowed')));
  }
  return posix.normalize(absolute).replace(/(.)\/$/, '$1');
}

function writeGuestFile(
  model: SmolvmModel,
  machine: Machine,
  raw: string,
  data: Uint8Array,
  meta: { mode: number | undefined; uid: number | undefined; gid: number | undefined },
): void {
  const streaming = data.length > SINGLE_SHOT_MAX;
  const operation = streaming ? 'begin streaming write' : 'write file';
  const container = machine.record.imageSource !== null;
  const target = normalizeGuestPath(raw, operation);
  const parent = posix.dirname(target);
  const vol = machine.fs.vol;
  machine.fs.as(ROOT, () => {
    try {
      machine.fs.mkdirs(parent);
    } catch (error) {
      const io = t.ioError(codeOf(error) === 'EEXIST' ? 'ENOTDIR' : codeOf(error));
      throw new CommandFailure(
        t.agentFailed(
          operation,
          container ? t.containerCreateFailed(raw, parent, io) : streaming ? `failed to open staging file: ${io}` : t.createDirFailed(parent, io),
        ),
      );
    }
    const base = posix.basename(target);
    const staging = posix.join(parent, container ? t.containerStagingName(base, AGENT_PID) : t.stagingName(base, AGENT_PID, model.uploadCounter++));
    vol.writeFileSync(staging, data);
    vol.chmodSync(staging, 0o644); // 0666 & umask 022
    if (vol.existsSync(target) && vol.statSync(target).isDirectory()) {
      vol.unlinkSync(staging);
      const io = t.ioError('EISDIR');
      throw new CommandFailure(
        t.agentFailed(streaming ? 'stream write chunk' : 'write file', container ? t.containerRenameFailed(raw, io) : t.renameOntoFailed(raw, io)),
      );
    }
    vol.renameSync(staging, target);
    if (meta.mode !== undefined) vol.chmodSync(target, meta.mode);
    if (meta.uid !== undefined || meta.gid !== undefined) {
      const st = vol.statSync(target);
      vol.chownSync(target, meta.uid ?? Number(st.uid), meta.gid ?? Number(st.gid));
    }
  });
}

function readGuestFile(machine: Machine, raw: string): Uint8Array {
  const container = machine.record.imageSource !== null;
  const target = normalizeGuestPath(raw, 'read file');
  return machine.fs.as(ROOT, () => {
    let isFile: boolean;
    try {
      isFile = machine.fs.vol.statSync(target).isFile();
    } catch (error) {
      const io = t.ioError(codeOf(error));
      throw new CommandFailure(t.agentFailed('read file', container ? t.containerOpenFailed(raw, io) : t.openFailed(raw, io)));
    }
    if (!isFile) throw new CommandFailure(t.agentFailed('read file', t.notRegularFile(raw)));
    return machine.fs.vol.readFileSync(target) as Uint8Array;
  });
}

function codeOf(error: unknown): string | undefined {
  return (error as { code?: string }).code;
}
