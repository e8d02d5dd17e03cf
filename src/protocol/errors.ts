export type FailureType = 'config_error' | 'transient_error' | 'system_error';

/**
 * An error with a message written for the person running the connector.
 * `message` says what went wrong and what to do; `internalMessage` keeps the
 * underlying cause for debugging. Neither may contain a secret.
 */
export class ConnectorError extends Error {
  readonly failureType: FailureType;
  readonly internalMessage: string | undefined;
  readonly streamName: string | undefined;
  /** Stack of an unexpected error (our bug); expected failures carry none. */
  stackTrace: string | undefined;

  constructor(
    failureType: FailureType,
    message: string,
    options: { internalMessage?: string; streamName?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ConnectorError';
    this.failureType = failureType;
    this.internalMessage = options.internalMessage;
    this.streamName = options.streamName;
  }

  withStream(streamName: string): ConnectorError {
    if (this.streamName !== undefined) return this;
    const copy = new ConnectorError(this.failureType, this.message, {
      internalMessage: this.internalMessage,
      streamName,
      cause: this.cause,
    });
    copy.stackTrace = this.stackTrace;
    return copy;
  }
}

export const configError = (message: string, options?: { internalMessage?: string; streamName?: string; cause?: unknown }) =>
  new ConnectorError('config_error', message, options);

export const transientError = (message: string, options?: { internalMessage?: string; streamName?: string; cause?: unknown }) =>
  new ConnectorError('transient_error', message, options);

/** Wraps anything thrown into a ConnectorError; unknown errors are our bug (system_error). */
export function asConnectorError(error: unknown): ConnectorError {
  if (error instanceof ConnectorError) return error;
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const wrapped = new ConnectorError('system_error', `Unexpected internal error: ${detail}`, {
    internalMessage: detail,
    cause: error,
  });
  wrapped.stackTrace = error instanceof Error ? error.stack : undefined;
  return wrapped;
}
