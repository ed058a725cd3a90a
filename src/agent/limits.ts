/**
 * Every size, count and length claude-bottle accepts from an agent file, its environment or an
 * SDK caller, in one place. Each is generous for real use and finite, so no input can make a
 * prepare or a launch grow without bound; going over one is a `ConfigError` naming the field.
 */

/** The agent file as read from disk: refused before reading when `fstat` says it is larger. */
export const MAX_AGENT_FILE_BYTES = 1024 * 1024;
/**
 * The agent document once YAML aliases are resolved: a small multiple of the file cap, so `*a`
 * may reuse a block but 99 aliases of a 900 KB anchor (a 90 MB plan) are refused.
 */
export const MAX_AGENT_DOCUMENT_BYTES = 2 * MAX_AGENT_FILE_BYTES;
/** yaml's own guard (`maxAliasCount`) against nested alias expansion ("billion laughs"). */
export const MAX_YAML_ALIASES = 100;
/** Nesting of the agent document; the schema itself is at most four levels deep. */
export const MAX_AGENT_DOCUMENT_DEPTH = 32;

export const MAX_PROMPT_BYTES = 256 * 1024;

/** Skills one agent lists. */
export const MAX_SKILLS = 1000;
/** Files and directories of all skills together, walked at prepare. */
export const MAX_SKILL_ENTRIES = 10_000;
/** Bytes of all skill files together (they are read into memory at launch). */
export const MAX_SKILL_BYTES = 64 * 1024 * 1024;

/** Entries of `env`. */
export const MAX_ENV_VARS = 500;
/** One env value: well under Linux's 128 KiB per environment string. */
export const MAX_ENV_VALUE_BYTES = 64 * 1024;
/** All env names and values together: every exec carries them, within the kernel's ARG_MAX. */
export const MAX_ENV_BYTES = 512 * 1024;

/** Entries of `egress.allowHosts`, and of `egress.allowCidrs`. */
export const MAX_ALLOW_HOSTS = 1000;
export const MAX_ALLOW_CIDRS = 1000;

/** Any host or guest path (Linux PATH_MAX), including each skill file's guest path. */
export const MAX_PATH_BYTES = 4096;
/** Image references (a smolvm image may be a host path, hence the path cap). */
export const MAX_IMAGE_BYTES = MAX_PATH_BYTES;
/** A git identity (`git.name`, `git.email`). */
export const MAX_IDENTITY_LENGTH = 256;

/** `ca.file` and `egress.tls.cert`: a CA bundle is a few hundred KiB at most. */
export const MAX_CA_FILE_BYTES = 1024 * 1024;
/** `egress.tls.key`: one PEM private key. */
export const MAX_KEY_FILE_BYTES = 64 * 1024;

/** Forks made in one call (`Bottle.fork`, `fork -n`, `launch --forks`), at most. */
export const MAX_FORKS = 64;
