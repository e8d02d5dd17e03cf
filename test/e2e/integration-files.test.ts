import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { SecretRedactor } from '../../src/protocol/redactor.js';
import { check } from '../support/cli.js';
import { configuredCatalogErrors } from '../support/protocol.js';

const file = (name: string) => JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'integration_tests', name), 'utf8')) as unknown;

describe('integration_tests/', () => {
  it('sample_config.json is a valid config', () => {
    expect(validateConfig(file('sample_config.json'), new SecretRedactor()).config.streams.map((stream) => stream.name)).toEqual(['orders', 'events']);
  });

  it('configured_catalog.json is a valid configured catalog', () => {
    expect(configuredCatalogErrors(file('configured_catalog.json'))).toBe('');
  });

  it('invalid_config.json fails check with every problem named', async () => {
    const { status, message } = await check(file('invalid_config.json'));
    expect(status).toBe('FAILED');
    expect(message).toBe(
      'Invalid configuration (3 problems): credentials.external_id is required for auth_type iam_role; file_type must be one of csv, parquet, jsonl (got "xlsx"); bucket must be the bucket name only, e.g. my-bucket (got "s3://demo-bucket/exports"); put any folder in path.',
    );
  });
});
