import { describe, expect, it } from 'vitest';
import { ConnectorError } from '../../src/protocol/errors.js';
import { s3Timeouts } from '../../src/s3/timeouts.js';

describe('S3 timeouts from the environment', () => {
  it('defaults: 10 s to connect, 60 s to the first byte, 60 s idle', () => {
    expect(s3Timeouts({})).toEqual({ connectMs: 10_000, firstByteMs: 60_000, idleMs: 60_000 });
  });

  it('reads whole seconds', () => {
    expect(
      s3Timeouts({ SOURCE_S3_CONNECT_TIMEOUT_SECONDS: '3', SOURCE_S3_FIRST_BYTE_TIMEOUT_SECONDS: ' 120 ', SOURCE_S3_IDLE_TIMEOUT_SECONDS: '1' }),
    ).toEqual({ connectMs: 3_000, firstByteMs: 120_000, idleMs: 1_000 });
  });

  it.each(['0', '-5', '1.5', 'ten', '1e400', '30s'])('refuses %j with a config_error naming the variable', (value) => {
    let thrown: unknown;
    try {
      s3Timeouts({ SOURCE_S3_IDLE_TIMEOUT_SECONDS: value });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConnectorError);
    expect((thrown as ConnectorError).failureType).toBe('config_error');
    expect((thrown as ConnectorError).message).toContain('SOURCE_S3_IDLE_TIMEOUT_SECONDS must be a whole number');
  });
});
