import { describe, expect, it } from 'vitest';
import { check, localConfig, onlyMessage, runCli, writeTempFile } from '../support/cli.js';
import { USER_KEY_ID, USER_SECRET } from '../support/constants.js';
import { FIXTURES } from '../support/fixtures.js';

// A misspelt field would be ignored and its default used instead (a stream
// without globs reads every file as CSV): it is a config error naming the field meant.

const people = { name: 'people', globs: [FIXTURES.peopleCsv] };

describe('a misspelt config field', () => {
  it.each([
    ['streams[].glob', { streams: [{ name: 'csvs', glob: ['csv/*.csv'] }] }, 'streams[0].glob is not a known field (did you mean streams[0].globs?)'],
    ['streams[].primery_key', { streams: [{ ...people, primery_key: ['id'] }] }, 'streams[0].primery_key is not a known field (did you mean streams[0].primary_key?)'],
    ['file_typ', { file_typ: 'parquet' }, 'file_typ is not a known field (did you mean file_type?)'],
    [
      'format.delimeter',
      { streams: [{ name: 'semi', globs: [FIXTURES.semicolonCsv], format: { filetype: 'csv', delimeter: ';' } }] },
      'streams[0].format.delimeter is not a known field (did you mean streams[0].format.delimiter?)',
    ],
    ['startDate', { startDate: '2024-01-01T00:00:00Z' }, 'startDate is not a known field (did you mean start_date?)'],
  ])('check refuses %s and says which field was meant', async (_, overrides, expected) => {
    const { status, message, result } = await check(localConfig(overrides));
    expect(result.code).toBe(0);
    expect(status).toBe('FAILED');
    expect(message).toContain(expected);
  });

  it('credentials.aws_access_key: names the field meant next to the missing one, never the value', async () => {
    const { status, message } = await check(
      localConfig({ streams: [people], credentials: { auth_type: 'iam_user', aws_access_key: USER_KEY_ID, aws_secret_access_key: USER_SECRET } }),
    );
    expect(status).toBe('FAILED');
    expect(message).toContain('credentials.aws_access_key_id is required for auth_type iam_user');
    expect(message).toContain('credentials.aws_access_key is not a known field (did you mean credentials.aws_access_key_id?)');
    expect(message).not.toContain(USER_KEY_ID);
  });

  it('discover and read answer a config_error TRACE and exit 1', async () => {
    const config = writeTempFile('config.json', localConfig({ streams: [{ name: 'csvs', glob: ['csv/*.csv'] }] }));
    const discover = await runCli(['discover', '--config', config]);
    expect(discover.code).toBe(1);
    expect(onlyMessage(discover, 'TRACE').trace.error).toMatchObject({ failure_type: 'config_error', message: expect.stringContaining('did you mean streams[0].globs?') });
    expect(discover.messages.filter((message) => message.type === 'CATALOG')).toEqual([]);

    const catalog = writeTempFile('catalog.json', { streams: [] });
    const read = await runCli(['read', '--config', config, '--catalog', catalog]);
    expect(read.code).toBe(1);
    expect(onlyMessage(read, 'TRACE').trace.error).toMatchObject({ failure_type: 'config_error', message: expect.stringContaining('did you mean streams[0].globs?') });
  });
});

describe('an unknown key unrelated to any field', () => {
  it('is a WARN log naming the key; check still succeeds', async () => {
    const { status, message, result } = await check(localConfig({ _comment: 'nightly export, owned by data-eng', streams: [{ ...people, description: 'staff list' }] }));
    expect(status, message).toBe('SUCCEEDED');
    const warnings = result.messages.filter((entry) => entry.type === 'LOG' && entry.log.level === 'WARN').map((entry) => entry.log.message as string);
    expect(warnings).toEqual([expect.stringContaining('Unknown config field _comment is ignored'), expect.stringContaining('Unknown config field streams[0].description is ignored')]);
    expect(result.stdout).not.toContain('nightly export');
  });
});
