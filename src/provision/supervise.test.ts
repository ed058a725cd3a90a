import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFakeSmolvm, type FakeSmolvm } from '../../fakes/index.ts';
import { SmolvmEngine } from '../engines/smolvm/engine.ts';
import { ConfigError } from '../errors.ts';
import { mcpConfigFor } from '../daemons/supervise/server.ts';
import { guestMcpConfigPath, HOST_MCP_CONFIG_FILE, provisionSupervise, superviseFlags } from './supervise.ts';

let work: string;
let fake: FakeSmolvm;
let engine: SmolvmEngine;
const NODE = { uid: 1000, gid: 1000 };

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'claude-bottle-supervise-'));
  fake = createFakeSmolvm();
  engine = new SmolvmEngine({ transport: fake });
  await engine.create({ name: 'sv', image: 'alpine', labels: {}, network: { enabled: false, allowHosts: [], allowCidrs: [] } });
  await engine.start('sv');
});
afterEach(async () => {
  await engine.remove('sv');
  await rm(work, { recursive: true, force: true });
});

describe('provisionSupervise (fake smolvm)', () => {
  it('the MCP config lands 0600, owned by the guest user; the host copy is 0600 in the state dir', async () => {
    const config = mcpConfigFor('http://127.0.0.1:41000/mcp');
    const path = await provisionSupervise(engine, 'sv', {
      configGuestPath: '/home/node/.config/cb/mcp.json',
      mcpConfig: config,
      user: NODE,
      stateDir: join(work, 'state'),
    });
    expect(path).toBe('/home/node/.config/cb/mcp.json');
    const fs = fake.guestFs('sv');
    const st = fs?.statSync(path);
    expect([Number(st?.mode) & 0o777, st?.uid, st?.gid]).toEqual([0o600, 1000, 1000]);
    expect(JSON.parse(String(fs?.readFileSync(path, 'utf8')))).toEqual({ mcpServers: { supervise: { type: 'http', url: 'http://127.0.0.1:41000/mcp' } } });
    const host = join(work, 'state', HOST_MCP_CONFIG_FILE);
    expect((await stat(host)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(host, 'utf8'))).toEqual(config);
    // The URL is not a secret, but nothing of the config travels in argv either way.
    for (const call of fake.calls) expect(call.argv.join(' ')).not.toContain('mcpServers');
  });

  it('a second provision replaces the file; bad paths and non-JSON are ConfigErrors before anything is uploaded', async () => {
    const options = { configGuestPath: guestMcpConfigPath('/root'), user: { uid: 0, gid: 0 }, stateDir: work };
    await provisionSupervise(engine, 'sv', { ...options, mcpConfig: mcpConfigFor('http://a:1/mcp') });
    await provisionSupervise(engine, 'sv', { ...options, mcpConfig: mcpConfigFor('http://b:2/mcp') });
    expect(String(fake.guestFs('sv')?.readFileSync('/root/.claude-bottle-mcp.json', 'utf8'))).toContain('http://b:2/mcp');
    const before = fake.calls.length;
    await expect(provisionSupervise(engine, 'sv', { ...options, configGuestPath: 'relative.json', mcpConfig: '{}' })).rejects.toThrow(ConfigError);
    await expect(provisionSupervise(engine, 'sv', { ...options, configGuestPath: '/root/../etc/x', mcpConfig: '{}' })).rejects.toThrow(ConfigError);
    await expect(provisionSupervise(engine, 'sv', { ...options, mcpConfig: '{not json' })).rejects.toThrow(/not JSON/);
    expect(fake.calls.length).toBe(before);
  });
});

describe('superviseFlags', () => {
  it('--mcp-config <path> --strict-mcp-config exactly when supervise is provisioned', () => {
    expect(superviseFlags('/root/.claude-bottle-mcp.json')).toEqual(['--mcp-config', '/root/.claude-bottle-mcp.json', '--strict-mcp-config']);
    expect(superviseFlags(undefined)).toEqual([]);
    expect(guestMcpConfigPath('/home/node')).toBe('/home/node/.claude-bottle-mcp.json');
  });
});

describe('provisionSupervise: parent directories', () => {
  it('creates missing parents owned by the guest user and leaves existing ones alone', async () => {
    await provisionSupervise(engine, 'sv', { configGuestPath: '/home/node/.config/cb/mcp.json', mcpConfig: '{}', user: NODE, stateDir: work });
    const fs = fake.guestFs('sv');
    for (const dir of ['/home/node/.config', '/home/node/.config/cb']) expect([fs?.statSync(dir).uid, fs?.statSync(dir).gid]).toEqual([1000, 1000]);
    expect(fs?.statSync('/home').uid).toBe(0);
  });
});
