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

export function streamStatusMessage(stream: string, status: 'STARTED' | 'RUNNING' | 'COMPLETE' | 'INCOMPLETE'): AirbyteMessage {
  return { type: 'TRACE', trace: { type: 'STREAM_STATUS', emitted_at: Date.now(), stream_status: { stream_descriptor: { name: stream }, status } } };
}

export function estimateMessage(stream: string, estimate: { bytes: number; rows?: number }): AirbyteMessage {
  return {
    type: 'TRACE',
    trace: {
      type: 'ESTIMATE',
      emitted_at: Date.now(),
      estimate: { name: stream, type: 'STREAM', byte_estimate: estimate.bytes, ...(estimate.rows === undefined ? {} : { row_estimate: estimate.rows }) },
    },
  };
}

export function streamStateMessage(stream: string, state: object, stats: { records: number; rejected?: number }): AirbyteMessage {
  return {
    type: 'STATE',
    state: {
      type: 'STREAM',
      stream: { stream_descriptor: { name: stream }, stream_state: state as Record<string, unknown> },
      sourceStats: { recordCount: stats.records, ...(stats.rejected === undefined || stats.rejected === 0 ? {} : { rejectedRecordCount: stats.rejected }) },
    },
  };
}
