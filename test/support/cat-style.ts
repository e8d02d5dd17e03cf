/**
 * Catalogs and states written the way Airbyte's Python tools write them: pydantic's `.json()` puts
 * every field of the model in, an unset optional field as an explicit `null` (CAT 0.11.5 does this
 * for `namespace`, `cursor_field`, `primary_key`, `source_defined_primary_key`, ...; newer models
 * add `is_resumable`, `generation_id`, `sync_id`, ...). The field lists come from the protocol
 * schema, so every optional field the protocol knows is sent as null when unset.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

type Json = Record<string, any>;

const definitions = (JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'schemas', 'airbyte_protocol.schema.json'), 'utf8')) as Json).definitions as Json;

/** Every field of a protocol object, unset ones as null (what a pydantic model serializes). */
function withEveryField(definition: string, value: Json): Json {
  const nulls = Object.fromEntries(Object.keys(definitions[definition].properties as Json).map((field) => [field, null]));
  return { ...nulls, ...value };
}

/** A configured catalog as CAT writes it to catalog.json. */
export function catStyleCatalog(catalog: Json): Json {
  return withEveryField('ConfiguredAirbyteCatalog', {
    ...catalog,
    streams: (catalog.streams as Json[]).map((configured) => withEveryField('ConfiguredAirbyteStream', { ...configured, stream: withEveryField('AirbyteStream', configured.stream) })),
  });
}

/** STREAM state messages as a pydantic model writes them (descriptor namespace, global, data, stats as null). */
export function catStyleStates(states: Json[]): Json[] {
  return states.map((state) =>
    withEveryField('AirbyteStateMessage', {
      ...state,
      stream: withEveryField('AirbyteStreamState', { ...state.stream, stream_descriptor: withEveryField('StreamDescriptor', state.stream.stream_descriptor) }),
    }),
  );
}
