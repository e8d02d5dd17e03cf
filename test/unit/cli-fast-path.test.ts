import { describe, expect, it } from 'vitest';
import { parseWithYargs, simpleInvocation } from '../../src/cli.js';

/** Command lines orchestrators and people send; each must mean the same with or without yargs. */
const COMMAND_LINES = [
  ['spec'],
  ['check', '--config', 'c.json'],
  ['check', '--config=c.json'],
  ['discover', '--config', '/secrets/config.json'],
  ['read', '--config', 'c.json', '--catalog', 'k.json'],
  ['read', '--catalog', 'k.json', '--config', 'c.json', '--state', 's.json'],
  ['read', '--config=c.json', '--catalog=k.json', '--state=s.json'],
  ['read', '--config', 'a b.json', '--catalog', '123'],
  ['read', '--config', 'c.json', '--catalog', 'k=v.json'],
];

/** Lines the fast path must leave to yargs (help, usage errors, other commands). */
const LEFT_TO_YARGS = [
  [],
  ['--help'],
  ['--version'],
  ['spec', '--help'],
  ['spec', 'extra'],
  ['check'],
  ['check', '--config'],
  ['check', '--config', 'a', '--config', 'b'],
  ['check', '--config', '--catalog'],
  ['check', '--confg', 'c.json'],
  ['check', '--config='],
  ['discover', '-c', 'c.json'],
  ['read', '--config', 'c.json'],
  ['read', '--config', 'c.json', '--catalog', 'k.json', 'extra'],
  ['read', '--config', 'c.json', '--catalog', 'k.json', '--state'],
  ['query', '--config', 'c.json', '--sql', 'SELECT 1'],
  ['Read', '--config', 'c.json', '--catalog', 'k.json'],
];

describe('the command line without yargs', () => {
  it.each(COMMAND_LINES)('reads %s as yargs does', async (...args) => {
    const fast = simpleInvocation(args);
    expect(fast).toBeDefined();
    expect(fast).toEqual(await parseWithYargs(args, () => undefined));
  });

  it.each(LEFT_TO_YARGS.map((args) => [args.join(' ') || '(nothing)', args] as const))('leaves "%s" to yargs', (_label, args) => {
    expect(simpleInvocation([...args])).toBeUndefined();
  });
});
