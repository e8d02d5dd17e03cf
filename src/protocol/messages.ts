import type {
  AirbyteCatalog,
  AirbyteConnectionStatus,
  AirbyteLogMessage,
  AirbyteMessage,
  ConnectorSpecification,
} from '../generated/protocol.js';
import type { ConnectorError } from './errors.js';

/** Builders for the messages the connector prints. One place, so every message has the same shape. */

export function specMessage(spec: ConnectorSpecification): AirbyteMessage {
  return { type: 'SPEC', spec };
}

export function connectionStatusMessage(status: AirbyteConnectionStatus['status'], message?: string): AirbyteMessage {
  return { type: 'CONNECTION_STATUS', connectionStatus: message === undefined ? { status } : { status, message } };
}

export function catalogMessage(catalog: AirbyteCatalog): AirbyteMessage {
  return { type: 'CATALOG', catalog };
}

export function logMessage(level: AirbyteLogMessage['level'], message: string): AirbyteMessage {
  return { type: 'LOG', log: { level, message } };
}

export function errorTraceMessage(error: ConnectorError): AirbyteMessage {
  return {
    type: 'TRACE',
    trace: {
      type: 'ERROR',
      emitted_at: Date.now(),
      error: {
        message: error.message,
        failure_type: error.failureType,
        ...(error.internalMessage === undefined ? {} : { internal_message: error.internalMessage }),
        ...(error.stackTrace === undefined ? {} : { stack_trace: error.stackTrace }),
        ...(error.streamName === undefined ? {} : { stream_descriptor: { name: error.streamName } }),
      },
    },
  };
}
