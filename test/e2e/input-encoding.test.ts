import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { check, localConfig, onlyMessage, runCli, writeTempFile } from '../support/cli.js';
import { USER_KEY_ID, USER_SECRET } from '../support/constants.js';
import { FIXTURES } from '../support/fixtures.js';
import { configuredCatalog, discoverStreams } from '../support/read.js';

const BOM = '\uFEFF';
const config = localConfig({ streams: [{ name: 'people', globs: [FIXTURES.peopleCsv], format: { filetype: 'csv' } }] });

/** JSON as Windows editors and spreadsheet exports save it: a byte order mark, CRLF line ends, indentation. */
const windowsJson = (value: unknown) => `${BOM}${JSON.stringify(value, null, 2).replace(/\n/g, '\r\n')}\r\n`;

describe('a UTF-8 byte order mark is accepted at the start of every JSON input', () => {
  it('config, catalog and state saved by a Windows editor (BOM + CRLF) read like plain files', async () => {
    const checked = await check(windowsJson(config));
    expect(checked.status, checked.message).toBe('SUCCEEDED');

    const catalog = configuredCatalog(await discoverStreams(config), { sync_mode: 'incremental', cursor_field: ['_ab_source_file_last_modified'] });
    const configPath = writeTempFile('config.json', windowsJson(config));
    const first = await runCli(['read', '--config', configPath, '--catalog', writeTempFile('catalog.json', windowsJson(catalog))]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.messages.filter((message) => message.type === 'RECORD')).toHaveLength(50);
    const states = first.messages.filter((message) => message.type === 'STATE').map((message) => message.state);

    // The state, passed back with a BOM, is honoured: nothing is read again.
    const second = await runCli(['read', '--config', configPath, '--catalog', writeTempFile('catalog.json', windowsJson(catalog)), '--state', writeTempFile('state.json', windowsJson(states.slice(-1)))]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.messages.filter((message) => message.type === 'RECORD')).toHaveLength(0);
  });

  it('a syntax error after a BOM is still placed at the right line and column', async () => {
    // The second comma is line 2, column 17: the BOM does not shift the column.
    const result = await runCli(['discover', '--config', writeTempFile('config.json', `${BOM}{\r\n  "bucket": "b",,\r\n}`)]);
    expect(result.code).toBe(1);
    expect(onlyMessage(result, 'TRACE').trace.error.message).toMatch(/is not valid JSON \(syntax error at line 2, column 17\)\.$/);
  });

  it('a BOM in the middle of a file is not skipped (it is not JSON)', async () => {
    const result = await runCli(['discover', '--config', writeTempFile('config.json', `{"bucket": ${BOM}"b"}`)]);
    expect(result.code).toBe(1);
    expect(onlyMessage(result, 'TRACE').trace.error.message).toContain('is not valid JSON');
  });

  it('a UTF-16 file (Notepad\'s "Unicode") is refused with what to do, in either byte order', async () => {
    const text = JSON.stringify(config);
    const littleEndian = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    const bigEndian = Buffer.from(littleEndian).swap16();
    for (const bytes of [littleEndian, bigEndian]) {
      const path = writeTempFile('config.json', '');
      writeFileSync(path, bytes);
      const result = await runCli(['discover', '--config', path]);
      expect(result.code).toBe(1);
      const error = onlyMessage(result, 'TRACE').trace.error;
      expect(error.failure_type).toBe('config_error');
      expect(error.message).toBe(`The config file ${path} is UTF-16 text; save it as UTF-8 (in Notepad: Save As, Encoding UTF-8).`);
    }
  });
});

describe('a NUL character in a config string', () => {
  it('is a config_error naming the field path of each, without the value', async () => {
    const nulConfig = localConfig({
      path: 'csv\u0000/',
      credentials: { auth_type: 'iam_user', aws_access_key_id: USER_KEY_ID, aws_secret_access_key: `${USER_SECRET}\u0000tail-Wb7` },
      streams: [{ name: 'people', globs: ['csv/**', 'x\u0000.csv'], format: { filetype: 'csv', null_values: ['NA', '\u0000'] } }],
      'odd key': 'a\u0000b',
    });
    const result = await runCli(['discover', '--config', writeTempFile('config.json', nulConfig)], { secrets: ['tail-Wb7'] });
    expect(result.code).toBe(1);
    const error = onlyMessage(result, 'TRACE').trace.error;
    expect(error.failure_type).toBe('config_error');
    expect(error.message).toBe(
      'Invalid configuration (5 problems): credentials.aws_secret_access_key contains a NUL character (\\u0000); remove it; ' +
        'path contains a NUL character (\\u0000); remove it; ' +
        'streams[0].globs[1] contains a NUL character (\\u0000); remove it; ' +
        'streams[0].format.null_values[1] contains a NUL character (\\u0000); remove it; ' +
        '"odd key" contains a NUL character (\\u0000); remove it.',
    );
    // Neither stream carries a NUL byte, not even on stderr.
    expect(result.stdout).not.toContain('\u0000');
    expect(result.stderr).not.toContain('\u0000');
  });

  it('check answers FAILED with the field path', async () => {
    const { status, message } = await check(localConfig({ bucket: 'source-s3-test\u0000' }));
    expect(status).toBe('FAILED');
    expect(message).toBe('Invalid configuration (1 problem): bucket contains a NUL character (\\u0000); remove it.');
  });

  it('in a model query', async () => {
    const result = await runCli(['discover', '--config', writeTempFile('config.json', localConfig({ streams: [{ name: 'q', query: "SELECT 1 -- \u0000" }] }))]);
    expect(result.code).toBe(1);
    expect(onlyMessage(result, 'TRACE').trace.error.message).toContain('streams[0].query contains a NUL character');
  });
});
