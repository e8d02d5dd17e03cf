import { readSettings, settings } from '../settings.js';

/**
 * How long S3 may keep us waiting. The SDK's own timeouts are advisory unless
 * told otherwise, and say nothing about a response body that stops sending, so
 * these are enforced on the HTTP handler and again by our own body reads.
 */
export interface S3Timeouts {
  /** Opening the TCP (and TLS) connection. */
  connectMs: number;
  /** From sending a request to its response headers, and from the headers to the first body byte. */
  firstByteMs: number;
  /** Longest wait for the next bytes of a body (or of a socket) already sending. */
  idleMs: number;
}

export const TIMEOUT_VARIABLES = {
  connect: 'SOURCE_S3_CONNECT_TIMEOUT_SECONDS',
  firstByte: 'SOURCE_S3_FIRST_BYTE_TIMEOUT_SECONDS',
  idle: 'SOURCE_S3_IDLE_TIMEOUT_SECONDS',
} as const;

/**
 * The timeouts from the environment (defaults 10 s to connect, 60 s to the first byte, 60 s idle),
 * parsed by the one settings module: a bad value is a config_error naming the variable.
 */
export function s3Timeouts(env?: NodeJS.ProcessEnv): S3Timeouts {
  const values = env === undefined ? settings() : readSettings(env);
  return {
    connectMs: values.connectTimeoutSeconds * 1000,
    firstByteMs: values.firstByteTimeoutSeconds * 1000,
    idleMs: values.idleTimeoutSeconds * 1000,
  };
}
