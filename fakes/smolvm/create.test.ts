import { describe, expect, it } from 'vitest';
import { createFakeSmolvm, type FakeSmolvm } from '../index.ts';

const sm = (fake: FakeSmolvm, ...args: string[]) => fake.run(['smolvm', ...args]);

describe('machine create', () => {
  it('prints the creation summary on stdout', async () => {
    const r = await sm(createFakeSmolvm(), 'machine', 'create', '--name', 'box', '--cpus', '2', '--mem', '1024', '-p', '8080:80');
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      'Created machine: box\n' +
        '  CPUs: 2, Memory: 1024 MiB\n' +
        '  Ports: 1\n' +
        "\nUse 'smolvm machine start --name box' to start the machine\n" +
        "Then use 'smolvm machine exec --name box -- <command>' to run commands\n",
    );
  });

  it('generates vm-<shortid> names when --name is omitted', async () => {
    const fake = createFakeSmolvm({ generateShortId: () => '1a2b3c4d' });
    const r = await sm(fake, 'machine', 'create');
    expect(r.stdout).toMatch(/^Created machine: vm-1a2b3c4d\n/);
    expect(fake.machine('vm-1a2b3c4d')?.state).toBe('created');
  });

  it('refuses a duplicate name', async () => {
    const fake = createFakeSmolvm();
    await sm(fake, 'machine', 'create', '-n', 'dup');
    const r = await sm(fake, 'machine', 'create', '-n', 'dup');
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe("Error: config operation failed: create machine: machine 'dup' already exists or is being created\n");
  });

  it.each([
    ['', 'machine name cannot be empty'],
    ['-lead', 'machine name must start with a letter or digit (got: "-lead")'],
    ['_x', 'machine name must start with a letter or digit (got: "_x")'],
    ['trail-', 'machine name cannot end with a hyphen (got: "trail-")'],
    ['a--b', 'machine name cannot contain consecutive hyphens'],
    ['a/b', 'machine name cannot contain path separators'],
    ['a:b', "machine name contains invalid character: ':'"],
    ['a.b', "machine name contains invalid character: '.'"],
    ['x'.repeat(129), 'machine name too long: 129 characters (max 128)'],
  ])('refuses the invalid name %j', async (name, reason) => {
    const r = await sm(createFakeSmolvm(), 'machine', 'create', `--name=${name}`);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe(`Error: config operation failed: create machine: ${reason}\n`);
  });

  it('accepts names at the limits', async () => {
    const fake = createFakeSmolvm();
    for (const name of ['a', 'x'.repeat(128), '123test', 'TEST_RESOURCE', 'my-resource']) {
      expect((await sm(fake, 'machine', 'create', '-n', name)).exitCode).toBe(0);
    }
  });

  it('refuses a registry image on a machine without network (#807)', async () => {
    const r = await sm(createFakeSmolvm(), 'machine', 'create', '-n', 'img', '--image', 'node:22');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe(
      "Error: config operation failed: create machine: image 'node:22' must be pulled from a registry, but this " +
        'machine has no network, so the pull can never succeed. Add --net (or publish a port with -p, or set an ' +
        'egress policy with --allow-cidr/--allow-host). To keep the machine network-isolated, supply the image ' +
        'locally instead: `docker save node:22 | smolvm machine create --image - ...`\n',
    );
  });

  it.each([['--net'], ['--allow-host', 'api.anthropic.com'], ['--allow-cidr', '10.0.0.0/8'], ['-p', '3000']])(
    'lets %s satisfy the image pull',
    async (...flags) => {
      const fake = createFakeSmolvm();
      expect((await sm(fake, 'machine', 'create', '-n', 'img', '-I', 'alpine', ...flags)).exitCode).toBe(0);
      expect(fake.machine('img')?.network).toBe(flags[0] !== '-p');
    },
  );

  it('records labels, env, workdir and network flags', async () => {
    const fake = createFakeSmolvm({ env: { FROM_HOST: 'yes' } });
    await sm(
      fake,
      'machine',
      'create',
      '-n',
      'rec',
      '--label',
      'owner=bottle',
      '--label',
      'token=a=b',
      '-e',
      'A=1',
      '-e',
      'FROM_HOST',
      '-e',
      'MISSING',
      '-w',
      '/work',
      '--allow-host',
      'example.com',
      '--allow-cidr',
      '1.1.1.1',
    );
    expect(fake.machine('rec')).toMatchObject({
      labels: { owner: 'bottle', token: 'a=b' },
      env: { A: '1', FROM_HOST: 'yes' },
      workdir: '/work',
      network: true,
      allowHosts: ['example.com'],
      allowCidrs: ['1.1.1.1/32'],
      image: null,
    });
  });

  it.each([
    ['nokv', "Error: config operation failed: --label: expected KEY=VALUE, got 'nokv'\n"],
    ['=v', "Error: config operation failed: --label: label key cannot be empty (in '=v')\n"],
  ])('refuses the label %j', async (label, stderr) => {
    const r = await sm(createFakeSmolvm(), 'machine', 'create', '-n', 'l', '--label', label);
    expect(r).toMatchObject({ exitCode: 1, stderr });
  });

  it('treats a bare positional as a usage error (names are flags since v1.0.2)', async () => {
    const r = await sm(createFakeSmolvm(), 'machine', 'create', 'myvm');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe(
      "error: unexpected argument 'myvm' found\n\nUsage: smolvm machine create [OPTIONS] [-- <COMMAND>...]\n\nFor more information, try '--help'.\n",
    );
  });

  it('notes machine flags written after --', async () => {
    const fake = createFakeSmolvm();
    const r = await sm(fake, 'machine', 'create', '-n', 'w', '--', 'app', '--mem', '512', '--net');
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe(
      'note: --mem, --net came after `--`, so they were passed to the workload and did not configure the machine. Machine options go before `--`.\n',
    );
    expect(fake.machine('w')?.command).toEqual(['app', '--mem', '512', '--net']);
  });

  it.each([
    [['--cpus', 'x'], "error: invalid value 'x' for '--cpus <N>': invalid digit found in string\n"],
    [['--cpus', '300'], "error: invalid value '300' for '--cpus <N>': number too large to fit in target type\n"],
    [['-p', '0'], "error: invalid value '0' for '--port <HOST:GUEST>': port 0 is not valid for VM port forwarding\n"],
    [['--allow-cidr', 'nope'], "error: invalid value 'nope' for '--allow-cidr <CIDR>': invalid CIDR 'nope': expected format like 10.0.0.0/8 or 1.1.1.1\n"],
    [['--image', ''], "error: invalid value '' for '--image <IMAGE>': image reference must not be empty\n"],
    [['--name'], "error: a value is required for '--name <NAME>' but none was supplied\n"],
  ])('rejects bad values clap-style: %j', async (flags, firstLine) => {
    const r = await sm(createFakeSmolvm(), 'machine', 'create', ...flags);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe(`${firstLine}\nFor more information, try '--help'.\n`);
  });

  it('rejects unknown flags and repeated single-value flags', async () => {
    const unknown = await sm(createFakeSmolvm(), 'machine', 'create', '--bogus');
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toMatch(/^error: unexpected argument '--bogus' found\n/);
    const twice = await sm(createFakeSmolvm(), 'machine', 'create', '-n', 'a', '--name', 'b');
    expect(twice.exitCode).toBe(2);
    expect(twice.stderr).toMatch(/^error: the argument '--name <NAME>' cannot be used multiple times\n/);
  });

  it('refuses zero resources', async () => {
    expect((await sm(createFakeSmolvm(), 'machine', 'create', '--cpus', '0')).stderr).toBe(
      'Error: config operation failed: validate resources: CPU count must be at least 1\n',
    );
    expect((await sm(createFakeSmolvm(), 'machine', 'create', '--mem', '32')).stderr).toBe(
      'Error: config operation failed: validate resources: memory must be at least 64 MiB (got 32 MiB)\n',
    );
  });
});
