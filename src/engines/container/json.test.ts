import { describe, expect, it } from 'vitest';
import { ClaudeBottleError } from '../../errors.ts';
import { parseContainers } from './cli.ts';
import { array, EngineOutputError, nullish, object, optional, readJson, record, string, unknown } from './json.ts';

const Item = array(object({ Id: string, Tag: optional(string), Labels: nullish(record(string)), Extra: unknown }));
const read = (value: unknown) => readJson(JSON.stringify(value), Item, 'thing inspect');

describe('container CLI JSON readers', () => {
  it('read the named keys, ignore the others, and give absent optional and nullish fields as undefined', () => {
    expect(
      read([
        { Id: 'a', Labels: { k: 'v' }, Extra: [1], Ignored: true },
        { Id: 'b', Tag: 't', Labels: null },
      ]),
    ).toEqual([
      { Id: 'a', Tag: undefined, Labels: { k: 'v' }, Extra: [1] },
      { Id: 'b', Tag: 't', Labels: undefined, Extra: undefined },
    ]);
  });

  it.each([
    ['not an array', { Id: 'a' }, '(top): expected an array, got an object'],
    ['an item that is not an object', ['a'], '[0]: expected an object, got string "a"'],
    ['an array where an object belongs', [[]], '[0]: expected an object, got an array'],
    ['a missing required key', [{ Tag: 't' }], '[0].Id: expected a string, got nothing'],
    ['a number for a string', [{ Id: 'a' }, { Id: 7 }], '[1].Id: expected a string, got number 7'],
    ['null where only absence is allowed', [{ Id: 'a', Tag: null }], '[0].Tag: expected a string, got null'],
    ['a map with a non-string value', [{ Id: 'a', Labels: { ok: 'v', bad: false } }], '[0].Labels["bad"]: expected a string, got boolean false'],
  ])('refuse %s, naming the command, where, what was expected and what came', (_what, value, message) => {
    expect(() => read(value)).toThrow(EngineOutputError);
    expect(() => read(value)).toThrow(`\`thing inspect\` printed JSON of an unexpected shape: ${message}`);
  });

  it('refuse output that is not JSON, as a ClaudeBottleError that quotes it', () => {
    expect(() => readJson('Error: no such object', Item, 'thing inspect')).toThrow(
      /`thing inspect` printed something that is not JSON: "Error: no such object"/,
    );
    expect(() => readJson('{', Item, 'thing inspect')).toThrow(ClaudeBottleError);
  });

  it('container inspect: a container without its State.Status is refused, not read as unknown', () => {
    const json = JSON.stringify([{ Id: 'abc', Name: '/m1', State: {}, Config: { Image: 'img:1', Labels: null } }]);
    expect(() => parseContainers(json)).toThrow('`container inspect` printed JSON of an unexpected shape: [0].State.Status: expected a string, got nothing');
    expect(parseContainers(JSON.stringify([{ Id: 'abc', Name: '/m1', State: { Status: 'paused' }, Config: {} }]))).toEqual([
      { id: 'abc', name: 'm1', state: 'frozen', image: null, labels: {} },
    ]);
  });
});
