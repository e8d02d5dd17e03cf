import { isRecord } from './json-object.js';

/**
 * What orchestrators send, made into what the protocol schema describes. Airbyte's own tools (CAT and
 * anything serializing its pydantic models) write every unset optional field as an explicit `null`;
 * Airbyte's models read `null` as absent, and so do we. Only the protocol's own objects are cleaned:
 * a stream's json_schema and a stream's state blob are data and stay as they are.
 */

/** A copy of an object without its null-valued fields; anything else unchanged. */
export function withoutNullFields(value: unknown): unknown {
  if (!isRecord(value)) return value;
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== null));
}

/** The configured catalog with nulls as absent, at the catalog, each configured stream and its stream. */
export function normaliseCatalog(raw: unknown): unknown {
  const catalog = withoutNullFields(raw);
  if (!isRecord(catalog) || !Array.isArray(catalog.streams)) return catalog;
  return {
    ...catalog,
    streams: catalog.streams.map((entry) => {
      const configured = withoutNullFields(entry);
      return isRecord(configured) ? { ...configured, stream: withoutNullFields(configured.stream) } : configured;
    }),
  };
}

/** A state message with nulls as absent, down to its stream descriptor; the state blob is left alone. */
export function normaliseStateMessage(raw: unknown): unknown {
  const message = withoutNullFields(raw);
  if (!isRecord(message) || !isRecord(message.stream)) return message;
  const stream = withoutNullFields(message.stream) as Record<string, unknown>;
  return { ...message, stream: { ...stream, ...(isRecord(stream.stream_descriptor) ? { stream_descriptor: withoutNullFields(stream.stream_descriptor) } : {}) } };
}

/** The Airbyte message types (the envelope's `type`); a state message's own `type` is STREAM, GLOBAL or LEGACY. */
const ENVELOPE_TYPES = new Set(['RECORD', 'STATE', 'LOG', 'SPEC', 'CONNECTION_STATUS', 'CATALOG', 'TRACE', 'CONTROL', 'DESTINATION_CATALOG']);

/** True for a printed Airbyte message ({"type": "STATE", "state": {...}}, or a RECORD, LOG... line). */
export function isEnvelope(value: unknown): value is Record<string, unknown> & { type: string } {
  return isRecord(value) && typeof value.type === 'string' && ENVELOPE_TYPES.has(value.type);
}
