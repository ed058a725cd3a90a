// Forking a container: one paused commit (no status, stop or start of the golden), then a
// create and a start per clone; a golden that is not there is the CLI's own not-found.
import { describe, expect, it } from 'vitest';
import { scriptedTransport } from '../../testing/doubles.ts';
import type { CommandResult } from '../../transport/types.ts';
import { DockerEngine } from './engine.ts';

const IMAGE = 'sha256:ede924cc453c3bd7691b639fcc2a85c77c0a4234453fd9e27eb925475aacc221';

function scripted(reply: (argv: readonly string[]) => Partial<CommandResult>) {
  const { transport, calls } = scriptedTransport(reply);
  return { engine: new DockerEngine({ transport, firewall: 'off' }), calls };
}

const clone = { name: 'g-f1', labels: { 'claude-bottle.launch': 'f1f1f1f1f1f1f1f1' }, network: { enabled: false, allowHosts: [], allowCidrs: [] } };

describe('fork on a container engine', () => {
  it('commits the golden paused, in one call, and makes each clone from the image it printed', async () => {
    const { engine, calls } = scripted((argv) => (argv[1] === 'commit' ? { stdout: `${IMAGE}\n` } : {}));
    const made = await engine.fork('g', [clone], { labels: { 'claude-bottle.launch': 'a0a0a0a0a0a0a0a0' } });
    expect(made).toEqual({ base: { kind: 'image', id: IMAGE }, goldenUsable: true });
    expect(calls.map((c) => c.slice(0, 3))).toEqual([
      ['docker', 'commit', '--pause=true'],
      ['docker', 'create', '--pull'],
      ['docker', 'start', 'g-f1'],
    ]);
    expect(calls[0]?.slice(-2)).toEqual(['g', 'claude-bottle-fork/g:a0a0a0a0a0a0a0a0']);
    expect(calls[1]).toContain(IMAGE);
  });

  it("a golden that is not there is docker's not-found, and nothing else is called", async () => {
    const { engine, calls } = scripted(() => ({ exitCode: 1, stderr: 'Error response from daemon: No such container: g\n' }));
    await expect(engine.fork('g', [clone], { labels: {} })).rejects.toMatchObject({ name: 'DockerError', kind: 'not-found' });
    expect(calls.map((c) => c[1])).toEqual(['commit']);
  });
});
