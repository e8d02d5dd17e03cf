import { sqlIdentifier, sqlString } from '../engine/sql.js';
import { formatDuckType, type DuckType } from '../engine/types.js';

/**
 * The expression giving `expression` (of `type`) with every staged name
 * (`local`, such as `./s3://bucket/`) written as its s3:// URL (`remote`),
 * wherever text sits in the value: a VARCHAR, a JSON document, or inside
 * lists, structs and maps at any depth (`[filename]`, `{'f': filename}`,
 * `to_json(t)`). The type is kept. Undefined when the type holds no text.
 */
export function withStagedNamesAsUrls(expression: string, type: DuckType, local: string, remote: string, depth = 0): string | undefined {
  switch (type.kind) {
    case 'primitive':
      if (type.name === 'VARCHAR') return `replace(${expression}, ${sqlString(local)}, ${sqlString(remote)})`;
      // A JSON document: its text, where DuckDB writes / unescaped.
      if (type.name === 'JSON') return `CAST(replace(CAST(${expression} AS VARCHAR), ${sqlString(local)}, ${sqlString(remote)}) AS JSON)`;
      return undefined;
    case 'list': {
      // A lambda's variable is found before a column of the same name (`x0` as a bare name, never dotted).
      const variable = `s${depth}`;
      const inner = withStagedNamesAsUrls(variable, type.items, local, remote, depth + 1);
      if (inner === undefined) return undefined;
      const list = `list_transform(${expression}, lambda ${variable}: ${inner})`;
      // A fixed-size ARRAY stays one (list_transform returns a LIST).
      return type.size === undefined ? list : `CAST(${list} AS ${formatDuckType(type)})`;
    }
    case 'struct': {
      const fields = type.fields.map((field) => {
        const access = `struct_extract(${expression}, ${sqlString(field.name)})`;
        return { field, mapped: withStagedNamesAsUrls(access, field.type, local, remote, depth + 1), access };
      });
      if (fields.every((entry) => entry.mapped === undefined)) return undefined;
      const packed = fields.map((entry) => `${sqlIdentifier(entry.field.name)} := ${entry.mapped ?? entry.access}`).join(', ');
      return `CASE WHEN ${expression} IS NULL THEN NULL ELSE struct_pack(${packed}) END`;
    }
    case 'map': {
      const variable = `m${depth}`;
      // struct_extract, not `variable.key`: a dotted name would bind to a column of that name first.
      const keyOf = `struct_extract(${variable}, 'key')`;
      const valueOf = `struct_extract(${variable}, 'value')`;
      const key = withStagedNamesAsUrls(keyOf, type.key, local, remote, depth + 1);
      const value = withStagedNamesAsUrls(valueOf, type.value, local, remote, depth + 1);
      if (key === undefined && value === undefined) return undefined;
      return `map_from_entries(list_transform(map_entries(${expression}), lambda ${variable}: struct_pack("key" := ${key ?? keyOf}, "value" := ${value ?? valueOf})))`;
    }
    default:
      return undefined;
  }
}
