import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { credentialProvider } from './credentials.js';
import type { S3Settings, SecretSink } from './settings.js';
import { settings } from '../settings.js';
import { s3Timeouts } from './timeouts.js';
import { requireCjs } from '../cjs-require.js';

const sdk = requireCjs('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3');

/** Attempts per request (first try + retries with exponential backoff); SOURCE_S3_MAX_ATTEMPTS overrides. */
export function maxAttempts(): number {
  return settings().maxAttempts;
}

/** Builds the S3 client for the configured auth mode and endpoint. */
export function createS3Client(settings: S3Settings, secrets: SecretSink): S3Client {
  const timeouts = s3Timeouts();
  const options: S3ClientConfig = {
    region: settings.region,
    forcePathStyle: settings.forcePathStyle,
    maxAttempts: maxAttempts(),
    retryMode: 'standard',
    requestHandler: {
      connectionTimeout: timeouts.connectMs,
      // The handler clears requestTimeout once response headers arrive: it bounds the wait for the
      // first byte. Without throwOnRequestTimeout it only logs a warning (@smithy/node-http-handler 4.x).
      requestTimeout: timeouts.firstByteMs,
      throwOnRequestTimeout: true,
      // A socket silent this long is destroyed, so a stalled listing page fails and is retried. It
      // also runs while waiting for headers, hence the larger of the two; object bodies get their
      // own idle timeout in object-reader.ts.
      socketTimeout: Math.max(timeouts.idleMs, timeouts.firstByteMs),
    },
  };
  if (settings.endpoint !== undefined) {
    options.endpoint = settings.endpoint;
    // S3-compatible stores often reject the SDK's default flexible checksums.
    options.requestChecksumCalculation = 'WHEN_REQUIRED';
    options.responseChecksumValidation = 'WHEN_REQUIRED';
  }
  const provider = credentialProvider(settings, secrets);
  if (provider === undefined) {
    // Anonymous: a signer that leaves requests unsigned, and empty static
    // credentials so the SDK does not go looking for any.
    options.credentials = { accessKeyId: '', secretAccessKey: '' };
    options.signer = { sign: async (request) => request };
  } else {
    options.credentials = provider;
  }
  return new sdk.S3Client(options);
}
