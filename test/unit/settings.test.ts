import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ConnectorError } from '../../src/protocol/errors.js';
import { readSettings, SETTING_NAMES } from '../../src/settings.js';

describe('readSettings', () => {
  it('gives the documented defaults when nothing is set', () => {
    expect(readSettings({})).toEqual({
      maxAttempts: 5,
      connectTimeoutSeconds: 10,
      firstByteTimeoutSeconds: 60,
      idleTimeoutSeconds: 60,
      stagingDir: tmpdir(),
      sampleBytes: 1048576,
      sampleRowGroupBytes: 67108864,
      schemaFiles: 10,
      discoveryConcurrency: 4,
      checkpointRecords: 10000,
      historyMax: 10000,
      downloadConcurrency: 16,
      batchBytes: 64 * 2 ** 20,
      batchFiles: 500,
      historyWindowSeconds: 259200,
      checkpointSeconds: 60,
      queryMaxBytes: 10737418240,
      queryMaxObjects: 10000,
      queryTimeoutSeconds: 3600,
      duckdbThreads: 2,
      duckdbFileThreads: 1,
      duckdbMemoryLimit: '1GB',
      duckdbMaxSpill: '10GB',
      streamMinBytes: 8388608,
      partBytes: 8388608,
      partsInFlight: 4,
      documentMaxBytes: 32 * 2 ** 20,
      documentMaxContentBytes: 32 * 2 ** 20,
    });
  });

  it('treats empty and blank values as unset, and trims the rest', () => {
    const settings = readSettings({ SOURCE_S3_MAX_ATTEMPTS: '', SOURCE_S3_HISTORY_MAX: '   ', SOURCE_S3_SCHEMA_FILES: '\t7\n', SOURCE_S3_DUCKDB_MEMORY_LIMIT: ' 512 MiB ' });
    expect(settings.maxAttempts).toBe(5);
    expect(settings.historyMax).toBe(10000);
    expect(settings.schemaFiles).toBe(7);
    expect(settings.duckdbMemoryLimit).toBe('512 MiB');
  });

  it('accepts the bounds of each range and refuses one past them', () => {
    expect(readSettings({ SOURCE_S3_SAMPLE_ROW_GROUP_BYTES: '0', SOURCE_S3_MAX_ATTEMPTS: '100', SOURCE_S3_SAMPLE_BYTES: '4096' })).toMatchObject({ sampleRowGroupBytes: 0, maxAttempts: 100, sampleBytes: 4096 });
    for (const env of [{ SOURCE_S3_MAX_ATTEMPTS: '0' }, { SOURCE_S3_MAX_ATTEMPTS: '101' }, { SOURCE_S3_SAMPLE_BYTES: '4095' }, { SOURCE_S3_HISTORY_MAX: '9007199254740993' }]) {
      expect(() => readSettings(env), JSON.stringify(env)).toThrow(ConnectorError);
    }
  });

  it('takes SOURCE_S3_QUERY_TIMEOUT_SECONDS as whole seconds and refuses 0, units and fractions by name', () => {
    expect(readSettings({ SOURCE_S3_QUERY_TIMEOUT_SECONDS: '1' }).queryTimeoutSeconds).toBe(1);
    expect(readSettings({ SOURCE_S3_QUERY_TIMEOUT_SECONDS: '86400' }).queryTimeoutSeconds).toBe(86400);
    for (const raw of ['0', '1h', '90s', '1.5', '-5', '1e3']) {
      expect(() => readSettings({ SOURCE_S3_QUERY_TIMEOUT_SECONDS: raw }), raw).toThrow(
        `Invalid environment setting: SOURCE_S3_QUERY_TIMEOUT_SECONDS must be a whole number of seconds, 1 or more (got ${JSON.stringify(raw)}); unset it for the default, 3600.`,
      );
    }
  });

  it('quotes at most 40 characters of a bad value', () => {
    const long = 'x'.repeat(500);
    try {
      readSettings({ SOURCE_S3_CHECKPOINT_RECORDS: long });
      expect.unreachable();
    } catch (error) {
      expect((error as ConnectorError).failureType).toBe('config_error');
      expect((error as ConnectorError).message).toContain(`(got "${'x'.repeat(40)}...")`);
      expect((error as ConnectorError).message).not.toContain('x'.repeat(41));
    }
  });

  it('names each setting once', () => {
    expect(new Set(SETTING_NAMES).size).toBe(SETTING_NAMES.length);
    for (const name of SETTING_NAMES) expect(name).toMatch(/^SOURCE_S3_[A-Z0-9_]+$/);
  });
});
