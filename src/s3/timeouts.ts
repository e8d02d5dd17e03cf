import { configError } from '../protocol/errors.js';

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

/** The timeouts from the environment: defaults 10 s to connect, 60 s to the first byte, 60 s idle. */
export function s3Timeouts(env: NodeJS.ProcessEnv = process.env): S3Timeouts {
  return {
    connectMs: seconds(env, TIMEOUT_VARIABLES.connect, 10) * 1000,
    firstByteMs: seconds(env, TIMEOUT_VARIABLES.firstByte, 60) * 1000,
    idleMs: seconds(env, TIMEOUT_VARIABLES.idle, 60) * 1000,
  };
}

/** A whole number of seconds >= 1; anything else is refused (a typo must not silently mean "no timeout"). */
function seconds(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw.trim());
  if (!Number.isSafeInteger(value) || value < 1) {
    throw configError(`${name} must be a whole number of seconds, 1 or more (got ${JSON.stringify(raw.slice(0, 40))}).`);
  }
  return value;
}
