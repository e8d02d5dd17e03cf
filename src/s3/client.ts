import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { credentialProvider } from './credentials.js';
import type { S3Settings, SecretSink } from './settings.js';
import { settings } from '../settings.js';

/** Attempts per request (first try + retries with exponential backoff); SOURCE_S3_MAX_ATTEMPTS overrides. */
export function maxAttempts(): number {
  return settings().maxAttempts;
}

/** Builds the S3 client for the configured auth mode and endpoint. */
export function createS3Client(settings: S3Settings, secrets: SecretSink): S3Client {
  const options: S3ClientConfig = {
    region: settings.region,
    forcePathStyle: settings.forcePathStyle,
    maxAttempts: maxAttempts(),
    retryMode: 'standard',
    requestHandler: { connectionTimeout: 10_000, requestTimeout: 120_000 },
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
  return new S3Client(options);
}
