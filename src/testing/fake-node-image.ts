/**
 * The fake smolvm's stand-in for the Docker test image: root runs commands, and a uid-1000
 * `node` user owns /home/node. The ref looks like a local archive, because smolvm pulls a
 * registry image only with a network, and contract machines have none.
 */
import type { FakeSmolvm } from '../../fakes/index.ts';

export const NODE_IMAGE = '/images/claude-bottle-node.tar';

export function registerNodeImage(fake: FakeSmolvm): void {
  fake.registerImage(NODE_IMAGE, {
    files: {
      '/etc/passwd': 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000:node:/home/node:/bin/sh\n',
      '/etc/group': 'root:x:0:\nnode:x:1000:\n',
      '/home/node': { type: 'dir', mode: 0o755, uid: 1000, gid: 1000 },
    },
  });
}
