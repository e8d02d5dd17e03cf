/** The acceptance runner's own rules must catch what they are there to catch. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAcceptanceConfig } from '../../acceptance/acceptance-config.js';
import { CATALOG_RULES } from '../../acceptance/catalog-rules.js';
import { finalStageConfig } from '../../acceptance/dockerfile.js';
import {
  checkpoints,
  checkpointsToResume,
  cursorAfterStateViolations,
  emptyStreams,
  expectedRecordsViolations,
  lastStatesOf,
  primaryKeyViolations,
  schemaViolations,
  stateMessageViolations,
  streamStatusViolations,
  withoutFields,
} from '../../acceptance/records.js';
import { SPEC_RULES } from '../../acceptance/spec-rules.js';

const ROOT = join(import.meta.dirname, '..', '..');
const spec = JSON.parse(readFileSync(join(ROOT, 'spec.json'), 'utf8'));
const rule = (name: string) => SPEC_RULES.find((candidate) => candidate.name.startsWith(name))!;
const object = (properties: Record<string, unknown>) => ({ type: 'object', properties });

describe('spec rules', () => {
  it.each(SPEC_RULES)('spec.json passes: $name', (specRule) => {
    expect(specRule.check(spec.connectionSpecification)).toEqual([]);
  });

  it.each([
    ['secrets', object({ password: { type: 'string' } }), '/properties/password: "password" looks like a secret'],
    ['secrets', object({ flag: { type: 'boolean', airbyte_secret: true } }), 'airbyte_secret on a field that cannot hold a secret'],
    ['oneOf', object({ auth: { type: 'object', oneOf: [object({ mode: { type: 'string', const: 'a' } }), object({ mode: { type: 'string' } })] } }), 'exactly one shared property must have a const'],
    ['oneOf', object({ auth: { type: 'object', oneOf: [object({ mode: { const: 'a', default: 'b' } }), object({ mode: { const: 'b' } })] } }), 'default differs from const'],
    ['oneOf', object({ auth: { oneOf: [object({ mode: { const: 'a' } }), object({ mode: { const: 'b' } })] } }), 'the parent of oneOf must be "type": "object"'],
    ['no forbidden', object({ a: { anyOf: [{ type: 'string' }] } }), '"anyOf" is not allowed'],
    ['no $ref', object({ a: { $ref: '#/definitions/x' } }), '"$ref" is not allowed'],
    ['property types', object({ a: { type: ['null', 'string'] } }), 'must be one type, or [type, "null"]'],
    ['objects', object({ a: { type: 'object' } }), 'an object needs properties or oneOf'],
    ['arrays', object({ a: { type: 'array' } }), 'items must have a type'],
    ['no duplicate order', object({ a: { type: 'string', order: 1 }, b: { type: 'string', order: 1 } }), 'share order 1'],
    ['group', object({ a: object({ b: { type: 'string', group: 'x' } }) }), '"group" is only allowed on top-level properties'],
    ['display_type', object({ a: { type: 'string', display_type: 'dropdown' } }), 'display_type is only for a field with oneOf'],
    ['enums', object({ a: { type: 'string', enum: ['x', 'x'] } }), 'enum has duplicate values'],
    ['additionalProperties', { ...object({ a: { type: 'string' } }), additionalProperties: false }, 'additionalProperties must be true'],
  ])('%s: catches %j', (name, schema, message) => {
    expect(rule(name).check(schema).join('\n')).toContain(message);
  });

  it('takes a property named like a keyword for a property', () => {
    expect(rule('no forbidden').check(object({ not: { type: 'string' }, anyOf: { type: 'string' } }))).toEqual([]);
  });
});

describe('catalog rules', () => {
  const stream = (overrides: Record<string, unknown>) => ({
    name: 's',
    json_schema: object({ id: { type: ['null', 'integer'] }, at: { type: ['null', 'string'], format: 'date-time', airbyte_type: 'timestamp_with_timezone' } }),
    supported_sync_modes: ['full_refresh'],
    ...overrides,
  });
  const problems = (candidate: unknown) => CATALOG_RULES.flatMap((catalogRule) => catalogRule.check(candidate));

  it('passes a well-formed stream', () => {
    expect(problems(stream({ default_cursor_field: ['at'], source_defined_primary_key: [['id']] }))).toEqual([]);
  });

  it.each([
    [{ default_cursor_field: ['missing'] }, 'default_cursor_field ["missing"] is not in the schema'],
    [{ source_defined_primary_key: [['nope']] }, 'primary key ["nope"] is not in the schema'],
    [{ json_schema: object({ id: { type: 'object', properties: { a: { type: 'string' } } } }), source_defined_primary_key: [['id']] }, 'has type ["object"]'],
    [{ supported_sync_modes: [] }, 'supported_sync_modes is empty'],
    [{ json_schema: object({ a: { type: 'decimal' } }) }, 'unsupported type decimal'],
    [{ json_schema: object({ a: { type: 'integer', format: 'date-time' } }) }, 'format date-time needs type string'],
    [{ json_schema: object({ a: { type: 'string', airbyte_type: 'timestamp_with_timezone' } }) }, 'airbyte_type timestamp_with_timezone needs type string with format date-time'],
    [{ json_schema: object({ a: { allOf: [{ type: 'string' }] } }) }, '"allOf" is not allowed'],
    [{ json_schema: { type: 'object', properties: 'x' } }, 's: '],
  ])('catches %j', (overrides, message) => {
    expect(problems(stream(overrides)).join('\n')).toContain(message);
  });
});

describe('read checks', () => {
  const catalog = { streams: [{ stream: { name: 's', json_schema: object({ id: { type: 'integer' }, at: { type: ['null', 'string'], format: 'date-time' } }) }, sync_mode: 'full_refresh', destination_sync_mode: 'overwrite' }] };
  const status = (value: string) => ({ type: 'TRACE', trace: { type: 'STREAM_STATUS', stream_status: { stream_descriptor: { name: 's' }, status: value } } });

  it('validates records: types, date-times, extra columns, unknown streams', () => {
    expect(schemaViolations([{ stream: 's', data: { id: 1, at: '2024-01-01T00:00:00.000000' } }], catalog, true)).toEqual([]);
    expect(schemaViolations([{ stream: 's', data: { id: 'one' } }], catalog, true).join()).toContain('must be integer');
    expect(schemaViolations([{ stream: 's', data: { id: 1, at: 'yesterday' } }], catalog, true).join()).toContain('must match format "date-time"');
    expect(schemaViolations([{ stream: 's', data: { id: 1, extra: true } }], catalog, true).join()).toContain('fields not in the schema: extra');
    expect(schemaViolations([{ stream: 's', data: { id: 1, extra: true } }], catalog, false)).toEqual([]);
    expect(schemaViolations([{ stream: 'other', data: {} }], catalog, true).join()).toContain('not in the catalog');
  });

  it('wants STARTED, RUNNING..., COMPLETE', () => {
    expect(streamStatusViolations([status('STARTED'), status('RUNNING'), status('COMPLETE')], catalog)).toEqual([]);
    expect(streamStatusViolations([status('STARTED'), status('COMPLETE')], catalog).join()).toContain('STARTED > COMPLETE');
    expect(streamStatusViolations([status('STARTED'), status('RUNNING'), status('INCOMPLETE')], catalog).join()).toContain('expected STARTED');
    expect(streamStatusViolations([], catalog).join()).toContain('no STREAM_STATUS');
  });

  it('wants per-stream states with record counts', () => {
    const state = (extra: Record<string, unknown>) => ({ type: 'STATE', state: { type: 'STREAM', stream: { stream_descriptor: { name: 's' }, stream_state: {} }, ...extra } });
    expect(stateMessageViolations([state({ sourceStats: { recordCount: 1 } })], catalog)).toEqual([]);
    expect(stateMessageViolations([state({})], catalog).join()).toContain('without sourceStats.recordCount');
    expect(stateMessageViolations([{ type: 'STATE', state: { type: 'LEGACY', data: {}, sourceStats: { recordCount: 0 } } }], catalog).join()).toContain('a LEGACY state');
    expect(stateMessageViolations([], catalog).join()).toContain('0 STATE messages for 1 streams');
  });

  it('compares expected records as CAT does', () => {
    const expected = [{ id: 1, nested: { a: 1 } }, { id: 2, nested: { a: 2 } }];
    const loose = { extra_records: true };
    expect(expectedRecordsViolations('s', expected, [...expected].reverse(), loose, [])).toEqual([]);
    expect(expectedRecordsViolations('s', expected, [expected[0]], loose, []).join()).toContain('missing expected record {"id":2');
    expect(expectedRecordsViolations('s', expected, [...expected, { id: 3, nested: {} }], { extra_records: false }, []).join()).toContain('unexpected record {"id":3');
    expect(expectedRecordsViolations('s', expected, [...expected].reverse(), { exact_order: true }, []).join()).toContain('s record 0');
    const withTime = expected.map((record) => ({ ...record, at: Date.now() }));
    expect(expectedRecordsViolations('s', expected, withTime, { extra_records: false }, ['at'])).toEqual([]);
    expect(expectedRecordsViolations('s', expected, withTime, { exact_order: true, extra_fields: true, extra_records: false }, [])).toEqual([]);
    expect(expectedRecordsViolations('s', expected, withTime, { exact_order: true }, []).join()).toContain('s record 0');
  });

  it('wants scalar primary keys, not all null', () => {
    const keyed = { streams: [{ ...catalog.streams[0]!, primary_key: [['id'], ['part']] }] };
    expect(primaryKeyViolations([{ stream: 's', data: { id: 1, part: null } }], keyed)).toEqual([]);
    expect(primaryKeyViolations([{ stream: 's', data: { id: null, part: null } }], keyed).join()).toContain('every part of the primary key is null');
    expect(primaryKeyViolations([{ stream: 's', data: { id: [1], part: 2 } }], keyed).join()).toContain('an object or array');
  });

  it('names the streams that emitted nothing, but for the declared empty ones', () => {
    const two = { streams: [catalog.streams[0]!, { ...catalog.streams[0]!, stream: { ...catalog.streams[0]!.stream, name: 't' } }] };
    expect(emptyStreams([{ stream: 's', data: {} }], two, [])).toEqual(['t']);
    expect(emptyStreams([{ stream: 's', data: {} }], two, [{ name: 't', bypass_reason: 'no data yet' }])).toEqual([]);
  });

  it('picks checkpoints as CAT does: merged repeats, no empty ones, resumed from the middle', () => {
    const state = (position: number, records: number) => ({ type: 'STATE', state: { type: 'STREAM', stream: { stream_descriptor: { name: 's' }, stream_state: { position } }, sourceStats: { recordCount: records } } });
    const points = checkpoints([state(1, 2), state(1, 3), state(2, 0), state(3, 4), state(3, 0)]);
    expect(points.map((point) => [point.state.stream.stream_state.position, point.recordsBefore])).toEqual([
      [1, 5],
      [3, 9],
    ]);
    expect(points[0]!.state).not.toHaveProperty('sourceStats');
    expect(checkpointsToResume([1, 2])).toEqual([2]);
    expect(checkpointsToResume([1, 2, 3])).toEqual([2]);
    expect(checkpointsToResume(Array.from({ length: 12 }, (_, index) => index))).toEqual([2, 4, 6, 8, 10]);
    expect(lastStatesOf([state(1, 1).state, state(2, 1).state])).toEqual([{ type: 'STREAM', stream: state(2, 1).state.stream }]);
  });

  it('removes ignored fields by path, with * for any key', () => {
    expect(withoutFields({ a: { x: 1, y: 2 }, b: { x: 3 }, c: 4 }, ['*/x', 'c'])).toEqual({ a: { y: 2 }, b: {} });
  });
});

describe('cursor against state (CAT 0.11.5 cursor_paths)', () => {
  const catalog = { streams: [{ stream: { name: 'q' }, sync_mode: 'incremental', cursor_field: ['at'], destination_sync_mode: 'append' }] };
  const messages = (recordAt: string, stateCursor: string) => [
    { type: 'RECORD', record: { stream: 'q', data: { at: recordAt } } },
    { type: 'STATE', state: { type: 'STREAM', stream: { stream_descriptor: { name: 'q' }, stream_state: { cursor: stateCursor } } } },
  ];

  it('compares a record time written with T to a state time written with a space, as times', () => {
    expect(cursorAfterStateViolations(messages('2024-02-28T23:59:59', '2024-02-28 23:59:59'), catalog, { q: ['cursor'] })).toEqual({ violations: [], compared: 1 });
  });

  it('flags a record after the state cursor', () => {
    expect(cursorAfterStateViolations(messages('2024-02-29T00:00:00', '2024-02-28 23:59:59'), catalog, { q: ['cursor'] }).violations).toHaveLength(1);
  });

  it('flags a state value CAT could not compare with the records (a date-time with a suffix)', () => {
    const { violations } = cursorAfterStateViolations(messages('2024-02-28T23:59:59', '2024-02-28T23:59:59.000Z|121:abc'), catalog, { q: ['cursor'] });
    expect(violations).toHaveLength(1);
    expect(violations[0]).toContain('not comparable');
  });

  it('compares nothing when the path is not in the state (the default path is the cursor field)', () => {
    expect(cursorAfterStateViolations(messages('2024-02-29T00:00:00', '2024-02-28 23:59:59'), catalog).compared).toBe(0);
  });
});

describe('Dockerfile reading', () => {
  it('reads the final stage: ENV, LABEL with ARG substitution, exec-form ENTRYPOINT', () => {
    const image = finalStageConfig(`ARG BASE=x
FROM \${BASE} AS build
ENV NOT_FINAL=1
FROM \${BASE}
ARG VERSION=1.2.3
# a comment
LABEL io.airbyte.name="my/source" \\
      io.airbyte.version="\${VERSION}"
ENV A=1 \\
    B="two words"
ENTRYPOINT ["node", "/app/main.js"]
`);
    expect(image).toEqual({ env: { A: '1', B: 'two words' }, labels: { 'io.airbyte.name': 'my/source', 'io.airbyte.version': '1.2.3' }, entrypoint: ['node', '/app/main.js'] });
  });

  it("reads this project's Dockerfile", () => {
    const image = finalStageConfig(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
    expect(image.env.AIRBYTE_ENTRYPOINT).toBe(image.entrypoint.join(' '));
  });
});

describe('acceptance-test-config.yml loading', () => {
  const write = (text: string) => {
    const path = join(mkdtempSync(join(tmpdir(), 'acceptance-config-')), 'acceptance-test-config.yml');
    writeFileSync(path, text);
    return path;
  };

  it("loads this project's config, with paths made absolute", () => {
    const config = loadAcceptanceConfig(join(ROOT, 'acceptance-test-config.yml'), ROOT);
    expect(config.acceptance_tests.connection!.tests!.map((test) => test.status)).toEqual(['succeed', 'succeed', 'succeed', 'failed']);
    expect(config.acceptance_tests.spec!.tests![0]!.spec_path).toBe(join(ROOT, 'integration_tests', 'spec.json'));
  });

  it('names an unknown key', () => {
    expect(() => loadAcceptanceConfig(write('connector_image: x\nacceptance_tests:\n  spec:\n    tests:\n      - spec_path: a\n        spec_pth: b\n'), ROOT)).toThrow(
      '/acceptance_tests/spec/tests/0: must NOT have additional properties "spec_pth"',
    );
  });

  it('applies the high strictness rules', () => {
    const text = `connector_image: x
test_strictness_level: high
acceptance_tests:
  basic_read:
    tests:
      - config_path: c.json
        configured_catalog_path: cat.json
        empty_streams:
          - name: s
`;
    const error = (() => {
      try {
        loadAcceptanceConfig(write(text), ROOT);
      } catch (caught) {
        return (caught as Error).message;
      }
      return '';
    })();
    expect(error).toContain('acceptance_tests.spec: high strictness needs every suite');
    expect(error).toContain('high strictness needs expect_records');
    expect(error).toContain('remove configured_catalog_path');
    expect(error).toContain('empty_streams: "s" needs a bypass_reason');
  });
});
