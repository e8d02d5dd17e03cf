import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { normalizePath } from '../../src/config/resolve.js';
import { SecretRedactor } from '../../src/protocol/redactor.js';

const user = { auth_type: 'iam_user', aws_access_key_id: 'AKIAEXAMPLE', aws_secret_access_key: 'a-secret-value-123' };

function problems(raw: unknown): string {
  try {
    validateConfig(raw, new SecretRedactor());
  } catch (error) {
    return (error as Error).message;
  }
  return '';
}

describe('config validation', () => {
  it('applies defaults and builds the default stream from path and file_type', () => {
    const { config } = validateConfig({ bucket: 'b', credentials: user, path: '/exports/daily/', file_type: 'jsonl' }, new SecretRedactor());
    expect(config).toMatchObject({ bucket: 'b', region: 'us-east-1', forcePathStyle: false, pathPrefix: 'exports/daily/' });
    expect(config.streams).toEqual([
      {
        kind: 'files',
        name: 'daily',
        globs: ['**/*.jsonl', '**/*.jsonl.gz', '**/*.jsonl.zst', '**/*.jsonl.bz2', '**/*.ndjson', '**/*.ndjson.gz', '**/*.ndjson.zst', '**/*.ndjson.bz2', '**/*.zip'],
        format: { filetype: 'jsonl' },
        primaryKey: [],
        isDefault: true,
        onError: 'fail',
      },
    ]);
  });

  it('names the default stream after the bucket when there is no path', () => {
    const { config } = validateConfig({ bucket: 'sales-data', credentials: user }, new SecretRedactor());
    expect(config.streams[0]).toMatchObject({ name: 'sales-data', globs: ['**/*.csv', '**/*.csv.gz', '**/*.csv.zst', '**/*.csv.bz2', '**/*.zip'], format: { filetype: 'csv', header: true } });
  });

  it('resolves CSV options, turning a typed \\t into a tab', () => {
    const { config } = validateConfig(
      {
        bucket: 'b',
        credentials: user,
        streams: [{ name: 's', format: { filetype: 'csv', delimiter: '\\t', header: false, column_names: ['a', 'b'], null_values: ['NA'], skip_rows: 2 } }],
      },
      new SecretRedactor(),
    );
    expect(config.streams[0]).toEqual({
      kind: 'files',
      name: 's',
      globs: ['**'],
      primaryKey: [],
      isDefault: false,
      onError: 'fail',
      format: { filetype: 'csv', delimiter: '\t', encoding: 'utf-8', header: false, skipRows: 2, nullValues: ['NA'], columnNames: ['a', 'b'] },
    });
  });

  it.each([
    [{}, 'Invalid configuration (2 problems): bucket is required; credentials is required.'],
    [[], 'config must be an object (got array)'],
    [{ credentials: user }, 'bucket is required'],
    [{ bucket: '', credentials: user }, 'bucket must not be empty'],
    [{ bucket: 'b' }, 'credentials is required'],
    [{ bucket: 'b', credentials: {} }, 'credentials.auth_type is required (one of iam_user, iam_role, default_chain, anonymous)'],
    [{ bucket: 'b', credentials: { auth_type: 'iam_role', role_arn: 'not-an-arn', external_id: 'x' } }, 'credentials.role_arn must look like arn:aws:iam::<12-digit account>:role/<name>'],
    [{ bucket: 'b', credentials: user, streams: [{ globs: ['a'] }] }, 'streams[0].name is required'],
    [{ bucket: 'b', credentials: user, streams: [{ name: 's', format: { filetype: 'xml' } }] }, 'streams[0].format.filetype must be one of csv, parquet, jsonl, avro, excel, document (got "xml")'],
    [{ bucket: 'b', credentials: user, streams: [{ name: 's', format: { filetype: 'csv', skip_rows: -1 } }] }, 'streams[0].format.skip_rows must be >= 0'],
    [{ bucket: 'b', credentials: user, streams: [{ name: 's', globs: [] }] }, 'streams[0].globs must have at least 1 item'],
    [{ bucket: 'b', credentials: user, streams: [{ name: 's', globs: ['/abs/*.csv'] }] }, 'streams[0].globs[0] "/abs/*.csv" must be relative to path; drop the leading /'],
    [{ bucket: 'b', credentials: user, streams: [{ name: 's', query: 'SELECT 1', format: { filetype: 'csv' } }] }, 'streams[0] (s) has both query and format'],
    [{ bucket: 'b', credentials: { auth_type: 'iam_role', role_arn: 'arn:aws:iam::123456789012:role/r', external_id: 'x', aws_access_key_id: 'AKIA' } }, 'credentials.aws_secret_access_key is required when credentials.aws_access_key_id is set'],
    [{ bucket: 'b', credentials: user, endpoint: 'http://user:pw@host' }, 'endpoint must not contain a user name or password'],
    [{ bucket: 'b', credentials: user, path: 's3://b/data' }, 'path must be a folder inside the bucket'],
    [{ bucket: 'b', credentials: user, start_date: '2024-01-01' }, 'start_date must look like YYYY-MM-DDTHH:mm:ssZ'],
    [{ bucket: 'b', credentials: user, start_date: '2024-02-30T00:00:00Z' }, 'start_date must look like YYYY-MM-DDTHH:mm:ssZ such as 2024-01-01T00:00:00Z (got "2024-02-30T00:00:00Z")'],
    [{ bucket: '   ', credentials: user }, 'Invalid configuration (1 problem): bucket must not be blank.'],
    [{ bucket: 'b', credentials: user, region: 'us east 1' }, 'region must look like us-east-1'],
    [{ bucket: 's3://b', credentials: { auth_type: 'iam_user' }, streams: [{ name: 'x' }, { name: 'x' }] }, 'Invalid configuration (4 problems): credentials.aws_access_key_id is required for auth_type iam_user; credentials.aws_secret_access_key is required for auth_type iam_user; bucket must be the bucket name only'],
  ])('rejects %j with a message naming the field', (raw, expected) => {
    expect(problems(raw)).toContain(expected);
  });

  it('accepts a valid config of every auth type', () => {
    for (const credentials of [
      user,
      { auth_type: 'iam_role', role_arn: 'arn:aws:iam::123456789012:role/reader', external_id: 'ext' },
      { auth_type: 'default_chain' },
      { auth_type: 'anonymous' },
    ]) {
      expect(problems({ bucket: 'b', credentials })).toBe('');
    }
  });

  it('normalizes endpoints and adds https:// when the scheme is missing', () => {
    const resolve = (endpoint: string) => validateConfig({ bucket: 'b', credentials: user, endpoint }, new SecretRedactor()).config.endpoint;
    expect(resolve('minio.internal:9000')).toBe('https://minio.internal:9000');
    expect(resolve('http://localhost:9000/')).toBe('http://localhost:9000');
    expect(resolve('  ')).toBeUndefined();
  });

  it('treats an empty streams list as the default stream', () => {
    const { config } = validateConfig({ bucket: 'b', credentials: user, streams: [] }, new SecretRedactor());
    expect(config.streams).toHaveLength(1);
  });

  it('refuses a misspelt field with the field it was probably meant to be', () => {
    const message = problems({ bucket: 'b', credentials: user, pth: 'a', streams: [{ name: 's', glob: ['x'], format: { filetype: 'csv', delimeter: ';' } }] });
    expect(message).toContain('pth is not a known field (did you mean path?)');
    expect(message).toContain('streams[0].glob is not a known field (did you mean streams[0].globs?)');
    expect(message).toContain('streams[0].format.delimeter is not a known field (did you mean streams[0].format.delimiter?)');
    expect(message).toMatch(/^Invalid configuration \(3 problems\)/);
  });

  it('suggests a format field when the filetype tag itself is misspelt', () => {
    const message = problems({ bucket: 'b', credentials: user, streams: [{ name: 's', format: { file_type: 'csv' } }] });
    expect(message).toContain('streams[0].format.filetype is required');
    expect(message).toContain('streams[0].format.file_type is not a known field (did you mean streams[0].format.filetype?)');
  });

  it('only warns about unknown keys unrelated to any field, or near a field already set', () => {
    const { warnings } = validateConfig(
      { bucket: 'b', credentials: { ...user, regoin: 'x' }, _comment: 'nightly', streams: [{ name: 's', globs: ['a'], glob: ['b'] }] },
      new SecretRedactor(),
    );
    expect(warnings).toEqual([
      expect.stringContaining('Unknown config field credentials.regoin is ignored'),
      expect.stringContaining('Unknown config field _comment is ignored'),
      expect.stringContaining('Unknown config field streams[0].glob is ignored; known fields here: name, globs, format, query, primary_key, on_error'),
    ]);
  });

  it('registers every airbyte_secret value with the redactor, even when validation fails', () => {
    const redactor = new SecretRedactor();
    const role = { auth_type: 'iam_role', role_arn: 'arn:aws:iam::123456789012:role/r', external_id: 'external-id-1', aws_access_key_id: 'AKIAROLEBASE', aws_secret_access_key: 'role-secret-1' };
    expect(() => validateConfig({ credentials: role }, redactor)).toThrow();
    expect(redactor.redact('external-id-1 role-secret-1 AKIAROLEBASE')).toBe('**** **** ****');
  });

  it('never quotes a secret value in a validation error', () => {
    const message = problems({ bucket: 'b', credentials: { auth_type: 'iam_user', aws_access_key_id: 'AKIA', aws_secret_access_key: 42 } });
    expect(message).toContain('credentials.aws_secret_access_key must be a string (got integer)');
    expect(message).not.toContain('42');
  });
});

describe('normalizePath', () => {
  it.each([
    ['', ''],
    ['/', ''],
    ['a', 'a/'],
    ['/a/b/', 'a/b/'],
    ['a//', 'a/'],
  ])('%j -> %j', (input, expected) => {
    expect(normalizePath(input)).toBe(expected);
  });
});
