import { describe, expect, it } from 'vitest';
import { duplicatePaths, transferRelativePath } from '../../src/s3/file-transfer.js';

/** The staging path of a key is attacker input made safe: never a step up, never absolute, names that fit. */
describe('transferRelativePath', () => {
  it('is the key below the path prefix, or its file name only', () => {
    expect(transferRelativePath('exports/2024/q1/a.pdf', 'exports/', true)).toBe('2024/q1/a.pdf');
    expect(transferRelativePath('exports/2024/q1/a.pdf', 'exports/', false)).toBe('a.pdf');
    expect(transferRelativePath('a.pdf', '', true)).toBe('a.pdf');
  });

  it('never steps up nor starts at the root', () => {
    for (const key of ['../../etc/passwd', 'a/../../b', '/abs/path', '//x', 'a/..', '..']) {
      for (const preserve of [true, false]) {
        const path = transferRelativePath(key, '', preserve);
        expect(path.startsWith('/')).toBe(false);
        expect(path.split('/')).not.toContain('..');
        expect(path.split('/')).not.toContain('.');
        expect(path.split('/')).not.toContain('');
      }
    }
    expect(transferRelativePath('../../etc/passwd', '', true)).toBe('%2E%2E/%2E%2E/etc/passwd');
    expect(transferRelativePath('a/..', '', false)).toBe('%2E%2E');
    expect(transferRelativePath('/abs//path/./x', '', true)).toBe('abs/path/x');
    expect(transferRelativePath('/', '', true)).toBe('%2F');
  });

  it('encodes NUL, control characters and backslashes', () => {
    expect(transferRelativePath('a\u0000b\\c\r\nd\u007f.txt', '', true)).toBe('a%00b%5Cc%0D%0Ad%7F.txt');
  });

  it('cuts a name over 255 bytes, keeping its extension and making it unique by a hash', () => {
    const long = transferRelativePath(`dir/${'é'.repeat(200)}.csv`, '', true);
    const [dir, name] = long.split('/') as [string, string];
    expect(dir).toBe('dir');
    expect(Buffer.byteLength(name)).toBeLessThanOrEqual(255);
    expect(name).toMatch(/^é+~[0-9a-f]{16}\.csv$/);
    expect(transferRelativePath(`${'é'.repeat(200)}x.csv`, '', true)).not.toBe(transferRelativePath(`${'é'.repeat(200)}y.csv`, '', true));
  });
});

describe('duplicatePaths', () => {
  it('lists the paths several keys map to', () => {
    const keys = ['a/data.json', 'b/data.json', 'c/other.json', 'x//y', 'x/y'];
    const paths = new Map(keys.map((key) => [key, transferRelativePath(key, '', false)]));
    expect(duplicatePaths(paths)).toEqual([
      { path: 'data.json', keys: ['a/data.json', 'b/data.json'] },
      { path: 'y', keys: ['x//y', 'x/y'] },
    ]);
    const preserved = new Map(keys.map((key) => [key, transferRelativePath(key, '', true)]));
    expect(duplicatePaths(preserved)).toEqual([{ path: 'x/y', keys: ['x//y', 'x/y'] }]);
  });
});
