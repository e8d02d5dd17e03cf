import { createRequire } from 'node:module';

/**
 * Loads a CommonJS package with `require`. An ESM `import` of one makes Node scan its
 * source (and every module it re-exports) for export names first; for DuckDB's node API
 * and the AWS SDK that scan cost ~100 ms at every start. Call sites keep their types
 * with `as typeof import('<package>')`.
 */
export const requireCjs = createRequire(import.meta.url);
