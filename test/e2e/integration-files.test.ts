import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { SecretRedactor } from '../../src/protocol/redactor.js';
import { check } from '../support/cli.js';
import { configuredCatalogErrors } from '../support/protocol.js';

const file = (name: string) => JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'integration_tests', name), 'utf8')) as unknown;

describe('integration_tests/', () => {
  // The acceptance suite (npm run acceptance) runs these files against the connector; here, only their shape.
  it('the acceptance configs are valid configs', () => {
    expect(validateConfig(file('sample_config.json'), new SecretRedactor()).config.streams.map((stream) => stream.name)).toEqual(['orders', 'events', 'clicks', 'large_orders']);
    expect(validateConfig(file('default_stream_config.json'), new SecretRedactor()).config.streams.map((stream) => stream.name)).toEqual(['clicks']);
    // Valid, so that check gets as far as S3 and answers FAILED for the unknown key (the acceptance suite runs it).
    expect(validateConfig(file('invalid_config.json'), new SecretRedactor()).config.streams.map((stream) => stream.name)).toEqual(['orders']);
  });

  it('configured_catalog.json is a valid configured catalog', () => {
    expect(configuredCatalogErrors(file('configured_catalog.json'))).toBe('');
  });

  it('a config with several problems fails check with every problem named', async () => {
    const { status, message } = await check({
      bucket: 's3://demo-bucket/exports',
      credentials: { auth_type: 'iam_role', role_arn: 'arn:aws:iam::123456789012:role/reader' },
      file_type: 'xml',
    });
    expect(status).toBe('FAILED');
    expect(message).toBe(
      'Invalid configuration (3 problems): credentials.external_id is required for auth_type iam_role; file_type must be one of csv, parquet, jsonl, avro, excel, document (got "xml"); bucket must be the bucket name only, e.g. my-bucket (got "s3://demo-bucket/exports"); put any folder in path.',
    );
  });
});
