import stringWidth from 'string-width';
import { describe, expect, it } from 'vitest';
import { cellText, renderTable } from '../../src/commands/preview-table.js';
import { displayWidth, terminalSafeJson, truncateToWidth, visibleText } from '../../src/commands/terminal-text.js';
import { jsonObjectMembers } from '../../src/engine/json-members.js';

describe('visibleText', () => {
  it.each([
    ['escape sequences', '\u001b]0;pwned\u0007\u001b[2J', '␛]0;pwned␇␛[2J'],
    ['NUL, backspace, carriage return, DEL', 'a\u0000b\bc\rd\u007f', 'a␀b␈c␍d␡'],
    ['newline and tab', 'a\nb\tc', 'a␊b␉c'],
    ['C1 controls (an 8-bit CSI, NEL)', 'a\u009b2Jb\u0085c', 'a<U+009B>2Jb<U+0085>c'],
    ['bidi overrides, embeddings, isolates and marks', '\u202ea\u202d\u202a\u2066b\u2069\u200f\u061c', '<U+202E>a<U+202D><U+202A><U+2066>b<U+2069><U+200F><U+061C>'],
    ['line and paragraph separators', 'a\u2028b\u2029c', 'a<U+2028>b<U+2029>c'],
    ['invisible characters', '\ufeffid\u200b\u2060', '<U+FEFF>id<U+200B><U+2060>'],
    ['lone surrogates', 'a\ud800b\udc00', 'a<U+D800>b<U+DC00>'],
  ])('shows %s as visible stand-ins', (_label, input, shown) => {
    expect(visibleText(input)).toBe(shown);
  });

  it('keeps what text needs: emoji sequences (ZWJ, skin tones, flags, tags), combining marks, CJK', () => {
    const text = '👨‍👩‍👧 👍🏽 🇯🇵 🏴󠁧󠁢󠁳󠁣󠁴󠁿 e\u0301 日本 क्‍ष';
    expect(visibleText(text)).toBe(text);
  });

  it('keeps newlines on request (messages on stderr), nothing else', () => {
    expect(visibleText('line 1\nline\u001b[2J 2', { keepNewlines: true })).toBe('line 1\nline␛[2J 2');
  });
});

describe('terminalSafeJson', () => {
  it('escapes bidi, C1 and invisible characters in JSON strings, keeping the values', () => {
    const line = JSON.stringify({ a: '\u202eexe.txt', b: 'csi\u009b2J', c: '\ufeffid \u2028 日本 👍🏽' });
    const safe = terminalSafeJson(line);
    expect(safe).toBe('{"a":"\\u202eexe.txt","b":"csi\\u009b2J","c":"\\ufeffid \\u2028 日本 👍🏽"}');
    expect(JSON.parse(safe)).toEqual(JSON.parse(line));
  });
});

describe('display width', () => {
  it.each([
    ['ascii', 'abc', 3],
    ['CJK', '日本語', 6],
    ['fullwidth forms', 'ＡＢ', 4],
    ['halfwidth katakana', 'ｶﾀ', 2],
    ['a letter with a combining mark', 'e\u0301', 1],
    ['an emoji with a skin tone', '👍🏽', 2],
    ['a ZWJ family', '👨‍👩‍👧', 2],
    ['a flag', '🇯🇵', 2],
    ['Hangul', '한국어', 6],
  ])('%s', (_label, text, width) => {
    expect(displayWidth(text)).toBe(width);
  });

  it('cuts by grapheme cluster within the width, ending in …', () => {
    expect(truncateToWidth('abc', 3)).toBe('abc');
    expect(truncateToWidth('abcd', 3)).toBe('ab…');
    // A wide character that does not fit is left out whole, never halved.
    expect(truncateToWidth('日本語', 5)).toBe('日本…');
    expect(truncateToWidth('日本語', 4)).toBe('日…');
    // An emoji sequence is one cluster: kept whole or left out, never split at its joiner.
    expect(truncateToWidth('👨‍👩‍👧👨‍👩‍👧', 3)).toBe('👨‍👩‍👧…');
    expect(truncateToWidth('ae\u0301e\u0301e\u0301', 3)).toBe('ae\u0301…');
  });
});

describe('cells', () => {
  it('tells SQL NULL from the text NULL, and quotes text that could pass for something else', () => {
    expect(cellText('null')).toBe('NULL');
    expect(cellText(undefined)).toBe('NULL');
    expect(cellText('"NULL"')).toBe("'NULL'");
    expect(cellText('""')).toBe("''");
    expect(cellText(`"'NULL'"`)).toBe("'''NULL'''");
    expect(cellText(`"'"`)).toBe("''''");
    expect(cellText('"null"')).toBe('null');
    expect(cellText(`"it's"`)).toBe("it's");
  });

  it('shows numbers with every digit and nested values as their JSON', () => {
    expect(cellText('170141183460469231731687303715884105727')).toBe('170141183460469231731687303715884105727');
    expect(cellText('1234567890123456789012345678.0123456789')).toBe('1234567890123456789012345678.0123456789');
    expect(cellText('{"a":[1,null],"b":"x"}')).toBe('{"a":[1,null],"b":"x"}');
    expect(cellText('"tab\\there"')).toBe('tab\there');
  });

  it('renders a table whose columns line up by display width', () => {
    const table = renderTable(['name', 'n'], [['日本', '1'], ['👨‍👩‍👧', '2'], ['a\u202eb\nc', '3'], ['x'.repeat(50), '4']]);
    const lines = table.split('\n');
    expect(lines).toHaveLength(6);
    const width = lines[1]!.split('-+-')[0]!.length;
    expect(width).toBe(40);
    for (const line of [lines[0]!, ...lines.slice(2)]) {
      const [first, second] = line.split(' | ');
      expect(stringWidth(first!), line).toBe(width);
      expect(second).toMatch(/^(n|\d)$/);
    }
    expect(lines[4]).toBe(`a<U+202E>b␊c${' '.repeat(width - 12)} | 3`);
  });
});

describe('jsonObjectMembers', () => {
  it("splits an object into its members' exact texts", () => {
    expect(jsonObjectMembers('{"a":9007199254740993,"b":"x, }\\" ]","c":{"d":[1,{"e":"}"}]},"d":null,"e":-1.50e+3,"f":true}')).toEqual([
      { name: 'a', raw: '9007199254740993' },
      { name: 'b', raw: '"x, }\\" ]"' },
      { name: 'c', raw: '{"d":[1,{"e":"}"}]}' },
      { name: 'd', raw: 'null' },
      { name: 'e', raw: '-1.50e+3' },
      { name: 'f', raw: 'true' },
    ]);
  });

  it('reads names with escapes, repeated names, whitespace and the empty object', () => {
    expect(jsonObjectMembers(' { "a\\u0022b" : 1 , "a\\u0022b" : [ 2 ] } ')).toEqual([
      { name: 'a"b', raw: '1' },
      { name: 'a"b', raw: '[ 2 ]' },
    ]);
    expect(jsonObjectMembers('{}')).toEqual([]);
  });

  it.each([['{"a":1'], ['{"a":}'], ['{"a":1} x'], ['[1]'], ['{"a":[1}']])('refuses malformed %s', (text) => {
    expect(() => jsonObjectMembers(text)).toThrow(/malformed JSON object/);
  });
});
