/**
 * Which machine database a smolvm process opens: `dirs::data_local_dir()/smolvm/server/smolvm.db`
 * (src/db.rs::default_path), a path computed from smolvm's own environment. So a call whose
 * environment moves HOME (or XDG_DATA_HOME, or SMOLVM_DATA_DIR) sees other machines, as a guest
 * value passed by `-e HOME` would make it (shared/docs/smolvm-cli.md, "State location").
 */

/**
 * The data dir as `dirs` derives it. Linux: `$XDG_DATA_HOME` when absolute, else
 * `$HOME/.local/share`, where `SMOLVM_DATA_DIR` replaces HOME first (src/process.rs
 * `apply_system_data_root`). macOS: `$HOME/Library/Application Support`. An unset HOME falls back
 * to the passwd entry, which the fake writes `~`.
 */
export function smolvmDataDir(env: Readonly<Record<string, string>>, platform: NodeJS.Platform = process.platform): string {
  if (platform === 'darwin') return `${env.HOME || '~'}/Library/Application Support/smolvm`;
  const xdg = env.XDG_DATA_HOME;
  if (xdg?.startsWith('/')) return `${xdg}/smolvm`;
  return `${env.SMOLVM_DATA_DIR || env.HOME || '~'}/.local/share/smolvm`;
}
