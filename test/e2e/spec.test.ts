import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createAjv } from '../../src/config/validate.js';
import { CLI, cleanEnv, onlyMessage, runCli } from '../support/cli.js';

type Schema = Record<string, any>;

const FORBIDDEN = ['$ref', 'anyOf', 'allOf', 'if', 'then', 'else', 'not', 'definitions', '$defs'];
const SECRET_NAMES = /secret|password|token|external_id|access_key_id/;

/** Every (path, schema) node of a JSON Schema. */
function* nodes(schema: Schema, path = ''): Generator<[string, Schema]> {
  yield [path, schema];
  for (const [name, property] of Object.entries((schema.properties ?? {}) as Record<string, Schema>)) yield* nodes(property, `${path}.${name}`);
  if (schema.items !== undefined) yield* nodes(schema.items as Schema, `${path}[]`);
  for (const [index, variant] of ((schema.oneOf ?? []) as Schema[]).entries()) yield* nodes(variant, `${path}<${index}>`);
}

describe('spec', () => {
  it('prints one SPEC message equal to spec.json and exits 0', async () => {
    const result = await runCli(['spec']);
    expect(result.code).toBe(0);
    expect(result.messages).toHaveLength(1);
    const expected = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'spec.json'), 'utf8'));
    expect(onlyMessage(result, 'SPEC').spec).toEqual(expected);
  });

  it('follows Airbyte spec rules', async () => {
    const spec = onlyMessage(await runCli(['spec']), 'SPEC').spec;
    const connection = spec.connectionSpecification as Schema;
    expect(connection.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(() => createAjv().compile(connection)).not.toThrow();
    for (const [path, node] of nodes(connection)) {
      for (const keyword of FORBIDDEN) expect(node[keyword], `${path} uses ${keyword}`).toBeUndefined();
      if (path !== '' && !path.endsWith('[]') && !/<\d+>$/.test(path)) {
        expect(node.type, `${path} has a type`).toBeDefined();
        expect(node.title, `${path} has a title`).toBeDefined();
      }
      const name = path.split('.').pop() ?? '';
      if (SECRET_NAMES.test(name)) expect(node.airbyte_secret, `${path} is marked airbyte_secret`).toBe(true);
      if (node.oneOf !== undefined) {
        const variants = node.oneOf as Schema[];
        const keys = Object.keys(variants[0]!.properties).filter((key) => variants.every((variant) => variant.properties[key]?.const !== undefined));
        expect(keys, `${path} oneOf has a const discriminator`).toHaveLength(1);
        const consts = variants.map((variant) => variant.properties[keys[0]!].const);
        expect(new Set(consts).size, `${path} discriminator values are unique`).toBe(variants.length);
        for (const variant of variants) expect(variant.required, `${path} variants require ${keys[0]}`).toContain(keys[0]);
      }
    }
  });

  it('has exactly the public config fields', async () => {
    const connection = onlyMessage(await runCli(['spec']), 'SPEC').spec.connectionSpecification as Schema;
    expect(Object.keys(connection.properties).sort()).toEqual(
      ['bucket', 'credentials', 'delivery_method', 'endpoint', 'file_type', 'force_path_style', 'path', 'region', 'start_date', 'streams'].sort(),
    );
    expect(connection.required).toEqual(['bucket', 'credentials']);
    expect((connection.properties.credentials.oneOf as Schema[]).map((variant) => variant.properties.auth_type.const)).toEqual([
      'iam_user',
      'iam_role',
      'default_chain',
      'anonymous',
    ]);
    const stream = connection.properties.streams.items as Schema;
    expect(Object.keys(stream.properties)).toEqual(['name', 'globs', 'format', 'query', 'primary_key', 'on_error', 'input_schema', 'schemaless']);
    expect(stream.properties.on_error).toMatchObject({ enum: ['fail', 'skip'], default: 'fail' });
    expect(stream.properties.input_schema).toMatchObject({ type: 'string', order: 6 });
    expect(stream.properties.schemaless).toMatchObject({ type: 'boolean', default: false, order: 7 });
    expect(stream.properties.globs.default).toEqual(['**']);
    const csv = (stream.properties.format.oneOf as Schema[])[0]!;
    expect(Object.keys(csv.properties)).toEqual(['filetype', 'delimiter', 'quote_char', 'escape_char', 'encoding', 'header', 'skip_rows', 'null_values', 'column_names']);
    expect(csv.properties.header.default).toBe(true);
    expect(connection.properties.region.default).toBe('us-east-1');
    expect(connection.properties.file_type.enum).toEqual(['csv', 'parquet', 'jsonl', 'avro', 'excel', 'document']);
    expect((stream.properties.format.oneOf as Schema[]).map((variant) => variant.properties.filetype.const)).toEqual(['csv', 'parquet', 'jsonl', 'avro', 'excel', 'document']);
    const excel = (stream.properties.format.oneOf as Schema[])[4]!;
    expect(Object.keys(excel.properties)).toEqual(['filetype', 'sheet']);
  });

  it('--help prints usage for people on stderr, keeps stdout for protocol messages, and exits 0', () => {
    const result = spawnSync(process.execPath, [CLI, '--help'], { env: cleanEnv(), encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('');
    for (const command of ['spec', 'check', 'discover', 'read']) expect(result.stderr).toContain(`source-s3 ${command}`);
    const readHelp = spawnSync(process.execPath, [CLI, 'read', '--help'], { env: cleanEnv(), encoding: 'utf8' });
    expect(readHelp.status).toBe(0);
    expect(readHelp.stderr).toMatch(/--catalog.*\[required\]/);
  });
});
