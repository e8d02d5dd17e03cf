/**
 * acceptance-test-config.yml: Airbyte's Connector Acceptance Test (CAT) configuration, in its v2
 * layout (`acceptance_tests:` with one section per suite). Loaded, checked against the shape CAT
 * accepts (unknown keys are errors, as in CAT's pydantic models), and checked against the rules of
 * `test_strictness_level: high`.
 */
import { Ajv } from 'ajv';
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { parse } from 'yaml';

export interface Bypass {
  name: string;
  bypass_reason?: string;
}

export interface SpecTest {
  spec_path: string;
  config_path?: string;
  timeout_seconds?: number;
}

export interface ConnectionTest {
  config_path: string;
  status: 'succeed' | 'failed' | 'exception';
  timeout_seconds?: number;
}

export interface DiscoveryTest {
  config_path: string;
  timeout_seconds?: number;
  validate_primary_keys_data_type?: boolean;
}

export interface ExpectRecords {
  path?: string;
  bypass_reason?: string;
  exact_order?: boolean;
  extra_fields?: boolean;
  extra_records?: boolean;
}

export type IgnoredFields = Record<string, Bypass[]>;

export interface BasicReadTest {
  config_path: string;
  configured_catalog_path?: string;
  empty_streams?: Bypass[];
  expect_records?: ExpectRecords;
  ignored_fields?: IgnoredFields;
  validate_schema?: boolean;
  fail_on_extra_columns?: boolean;
  validate_state_messages?: boolean;
  validate_stream_statuses?: boolean;
  validate_primary_keys_data_type?: boolean;
  expect_trace_message_on_failure?: boolean;
  timeout_seconds?: number;
}

export interface FullRefreshTest {
  config_path: string;
  configured_catalog_path: string;
  ignored_fields?: IgnoredFields;
  timeout_seconds?: number;
}

export interface FutureState {
  future_state_path?: string;
  missing_streams?: Bypass[];
  bypass_reason?: string;
}

export interface IncrementalTest {
  config_path: string;
  configured_catalog_path: string;
  future_state?: FutureState;
  skip_comprehensive_incremental_tests?: boolean;
  /** Per stream, where its cursor value sits in the stream's state (CAT 0.11.5 compares records with it). */
  cursor_paths?: Record<string, (string | number)[]>;
  /** Records of a resumed read may be this many days older than the state's cursor. */
  threshold_days?: number;
  timeout_seconds?: number;
}

interface Suite<T> {
  tests?: T[];
  bypass_reason?: string;
}

export interface AcceptanceConfig {
  connector_image: string;
  test_strictness_level?: 'high' | 'low';
  base_path?: string;
  acceptance_tests: {
    spec?: Suite<SpecTest>;
    connection?: Suite<ConnectionTest>;
    discovery?: Suite<DiscoveryTest>;
    basic_read?: Suite<BasicReadTest>;
    full_refresh?: Suite<FullRefreshTest>;
    incremental?: Suite<IncrementalTest>;
  };
}

export const SUITES = ['spec', 'connection', 'discovery', 'basic_read', 'full_refresh', 'incremental'] as const;
export type SuiteName = (typeof SUITES)[number];

const bypassList = { type: 'array', items: { type: 'object', additionalProperties: false, required: ['name'], properties: { name: { type: 'string' }, bypass_reason: { type: 'string' } } } };
const ignoredFields = { type: 'object', additionalProperties: bypassList };
const timeout = { type: 'integer', minimum: 1 };
const test = (required: string[], properties: Record<string, unknown>) => ({
  type: 'object',
  additionalProperties: false,
  required,
  properties: { config_path: { type: 'string' }, timeout_seconds: timeout, ...properties },
});
const suite = (testSchema: unknown) => ({
  type: 'object',
  additionalProperties: false,
  properties: { tests: { type: 'array', items: testSchema }, bypass_reason: { type: 'string' } },
});

/** The shape CAT accepts for the suites this runner implements. */
const CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['connector_image', 'acceptance_tests'],
  properties: {
    connector_image: { type: 'string', minLength: 1 },
    test_strictness_level: { enum: ['high', 'low'] },
    base_path: { type: 'string' },
    acceptance_tests: {
      type: 'object',
      additionalProperties: false,
      properties: {
        spec: suite(test(['spec_path'], { spec_path: { type: 'string' } })),
        connection: suite(test(['config_path'], { status: { enum: ['succeed', 'failed', 'exception'] } })),
        discovery: suite(test(['config_path'], { validate_primary_keys_data_type: { type: 'boolean' } })),
        basic_read: suite(
          test(['config_path'], {
            configured_catalog_path: { type: 'string' },
            empty_streams: bypassList,
            expect_records: {
              type: 'object',
              additionalProperties: false,
              properties: {
                path: { type: 'string' },
                bypass_reason: { type: 'string' },
                exact_order: { type: 'boolean' },
                extra_fields: { type: 'boolean' },
                extra_records: { type: 'boolean' },
              },
            },
            ignored_fields: ignoredFields,
            validate_schema: { type: 'boolean' },
            fail_on_extra_columns: { type: 'boolean' },
            validate_state_messages: { type: 'boolean' },
            validate_stream_statuses: { type: 'boolean' },
            validate_primary_keys_data_type: { type: 'boolean' },
            expect_trace_message_on_failure: { type: 'boolean' },
          }),
        ),
        full_refresh: suite(test(['config_path', 'configured_catalog_path'], { configured_catalog_path: { type: 'string' }, ignored_fields: ignoredFields })),
        incremental: suite(
          test(['config_path', 'configured_catalog_path'], {
            configured_catalog_path: { type: 'string' },
            future_state: {
              type: 'object',
              additionalProperties: false,
              properties: { future_state_path: { type: 'string' }, missing_streams: bypassList, bypass_reason: { type: 'string' } },
            },
            skip_comprehensive_incremental_tests: { type: 'boolean' },
            cursor_paths: { type: 'object', additionalProperties: { type: 'array', items: { type: ['string', 'integer'] } } },
            threshold_days: { type: 'integer', minimum: 0 },
          }),
        ),
      },
    },
  },
};

export class AcceptanceConfigError extends Error {}

/** acceptance-test-config.yml at the project root, or the file SOURCE_S3_ACCEPTANCE_CONFIG names. */
export function acceptanceConfigFile(projectRoot: string): string {
  return process.env.SOURCE_S3_ACCEPTANCE_CONFIG ?? join(projectRoot, 'acceptance-test-config.yml');
}

/** Reads, checks and returns acceptance-test-config.yml; paths in it are made absolute. */
export function loadAcceptanceConfig(file: string, projectRoot: string): AcceptanceConfig {
  let raw: unknown;
  try {
    raw = parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new AcceptanceConfigError(`${file} could not be read as YAML: ${(error as Error).message}`);
  }
  const ajv = new Ajv({ allErrors: true, strict: false });
  const validate = ajv.compile(CONFIG_SCHEMA);
  if (!validate(raw)) {
    const problems = (validate.errors ?? []).map((error) => {
      const where = error.instancePath === '' ? '(top level)' : error.instancePath;
      const extra = error.keyword === 'additionalProperties' ? ` "${(error.params as { additionalProperty: string }).additionalProperty}"` : '';
      return `${where}: ${error.message}${extra}`;
    });
    throw new AcceptanceConfigError(`${file} is not a valid acceptance test config:\n  ${problems.join('\n  ')}`);
  }
  const config = raw as unknown as AcceptanceConfig;
  const problems = [...suiteShapeProblems(config), ...(config.test_strictness_level === 'high' ? highStrictnessProblems(config) : [])];
  if (problems.length > 0) throw new AcceptanceConfigError(`${file} breaks acceptance test rules:\n  ${problems.join('\n  ')}`);
  return resolvePaths(config, config.base_path === undefined ? projectRoot : join(projectRoot, config.base_path));
}

function suiteShapeProblems(config: AcceptanceConfig): string[] {
  const problems: string[] = [];
  for (const name of SUITES) {
    const section = config.acceptance_tests[name];
    if (section?.tests !== undefined && section.bypass_reason !== undefined) problems.push(`acceptance_tests.${name}: give either tests or bypass_reason, not both`);
  }
  for (const [index, test] of (config.acceptance_tests.basic_read?.tests ?? []).entries()) {
    const expect = test.expect_records;
    if (expect === undefined) continue;
    const where = `acceptance_tests.basic_read.tests[${index}].expect_records`;
    if ((expect.path === undefined) === (expect.bypass_reason === undefined)) problems.push(`${where}: give exactly one of path or bypass_reason`);
    if (expect.extra_fields === true && expect.exact_order !== true) problems.push(`${where}: extra_fields needs exact_order: true`);
    if (expect.extra_fields === true && expect.extra_records !== false) problems.push(`${where}: extra_fields needs extra_records: false`);
  }
  return problems;
}

/** The rules CAT applies under `test_strictness_level: high`. */
function highStrictnessProblems(config: AcceptanceConfig): string[] {
  const problems: string[] = [];
  const tests = config.acceptance_tests;
  for (const name of SUITES) {
    const section = tests[name];
    if (section === undefined || (section.tests === undefined && section.bypass_reason === undefined)) {
      problems.push(`acceptance_tests.${name}: high strictness needs every suite, with tests or a bypass_reason`);
    }
  }
  const needReasons = (where: string, entries: Bypass[] | undefined) => {
    for (const entry of entries ?? []) if (!entry.bypass_reason) problems.push(`${where}: "${entry.name}" needs a bypass_reason`);
  };
  for (const [index, test] of (tests.basic_read?.tests ?? []).entries()) {
    const where = `acceptance_tests.basic_read.tests[${index}]`;
    if (test.expect_records === undefined) problems.push(`${where}: high strictness needs expect_records (a path, or a bypass_reason)`);
    if (test.configured_catalog_path !== undefined) problems.push(`${where}: high strictness reads the discovered catalog; remove configured_catalog_path`);
    if (test.validate_schema === false) problems.push(`${where}: high strictness does not allow validate_schema: false`);
    needReasons(`${where}.empty_streams`, test.empty_streams);
    for (const [stream, fields] of Object.entries(test.ignored_fields ?? {})) needReasons(`${where}.ignored_fields.${stream}`, fields);
  }
  for (const [index, test] of (tests.full_refresh?.tests ?? []).entries()) {
    for (const [stream, fields] of Object.entries(test.ignored_fields ?? {})) needReasons(`acceptance_tests.full_refresh.tests[${index}].ignored_fields.${stream}`, fields);
  }
  for (const [index, test] of (tests.incremental?.tests ?? []).entries()) {
    const where = `acceptance_tests.incremental.tests[${index}]`;
    const future = test.future_state;
    if (future === undefined || (future.future_state_path === undefined && future.bypass_reason === undefined)) {
      problems.push(`${where}: high strictness needs future_state (a future_state_path, or a bypass_reason)`);
    }
    needReasons(`${where}.future_state.missing_streams`, future?.missing_streams);
  }
  return problems;
}

function resolvePaths(config: AcceptanceConfig, base: string): AcceptanceConfig {
  const absolute = (path: string | undefined) => (path === undefined || isAbsolute(path) ? path : join(base, path));
  const tests = config.acceptance_tests;
  const withPaths = <T extends object>(section: Suite<T> | undefined, keys: string[]): Suite<T> | undefined => {
    if (section?.tests === undefined) return section;
    return {
      ...section,
      tests: section.tests.map((test) => {
        const copy = { ...test } as Record<string, unknown>;
        for (const key of keys) if (typeof copy[key] === 'string') copy[key] = absolute(copy[key] as string);
        if (typeof copy.expect_records === 'object' && copy.expect_records !== null) {
          const expect = copy.expect_records as ExpectRecords;
          copy.expect_records = { ...expect, path: absolute(expect.path) };
        }
        if (typeof copy.future_state === 'object' && copy.future_state !== null) {
          const future = copy.future_state as FutureState;
          copy.future_state = { ...future, future_state_path: absolute(future.future_state_path) };
        }
        return copy as T;
      }),
    };
  };
  return {
    ...config,
    acceptance_tests: {
      spec: withPaths(tests.spec, ['spec_path', 'config_path']),
      connection: withPaths(tests.connection, ['config_path']),
      discovery: withPaths(tests.discovery, ['config_path']),
      basic_read: withPaths(tests.basic_read, ['config_path', 'configured_catalog_path']),
      full_refresh: withPaths(tests.full_refresh, ['config_path', 'configured_catalog_path']),
      incremental: withPaths(tests.incremental, ['config_path', 'configured_catalog_path']),
    },
  };
}
