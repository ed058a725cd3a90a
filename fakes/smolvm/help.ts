/**
 * `smolvm -h` (short help) and `smolvm --help` / `smolvm help` (long help), laid out as clap
 * 4.6's default template renders `src/main.rs`'s `Cli` (v1.9.2): `about`/`long_about`, usage,
 * the visible subcommands, the auto `-h`/`-V` flags, then `after_help`. clap_derive joins a doc
 * comment's lines into one `about`, so `machine` carries its second comment line too.
 */

const ABOUT = 'Build and run portable, self-contained virtual machines';
// `long_about = include_str!("../AGENTS.md")`. The fake keeps its heading and first paragraph
// only (it does not vendor smolvm's 30 KB reference); see fakes/README.md.
const LONG_ABOUT =
  '# smolvm — Agent Reference\n\n' + 'A tool to build and run portable, self-contained virtual machines locally. <200ms boot time. No daemon, no Docker.\n';
const AFTER_HELP = 'Agents: run `smolvm --help` for full documentation including CLI reference and Smolfile schema';

export const TOP_USAGE = 'smolvm <COMMAND>';

const COMMANDS = `Commands:
  machine  Manage machines (create, start, stop, exec) (boxed: the machine arg structs dwarf every other variant) [aliases: vm]
  serve    Start the HTTP API server for programmatic control
  pack     Package and run self-contained VM executables
  config   Manage smolvm configuration (registries, defaults)
  help     Print this message or the help of the given subcommand(s)
`;

/** What `-h` prints (and, on stderr, a bare `smolvm`). */
export const TOP_HELP = `${ABOUT}

Usage: ${TOP_USAGE}

${COMMANDS}
Options:
  -h, --help     Print help (see more with '--help')
  -V, --version  Print version

${AFTER_HELP}
`;

/** What `--help` and `help` print: long about, and each option's help on its own line. */
export const TOP_LONG_HELP = `${LONG_ABOUT}

Usage: ${TOP_USAGE}

${COMMANDS}
Options:
  -h, --help
          Print help (see a summary with '-h')

  -V, --version
          Print version

${AFTER_HELP}
`;
