// Preloaded with `node --import` by the start-up tests: records every module the process
// loads (ESM through a resolve hook, CommonJS from require's cache at exit) into the file
// named by SOURCE_S3_TEST_MODULE_LOG, one path or URL per line.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const log = process.env.SOURCE_S3_TEST_MODULE_LOG;
if (log !== undefined) {
  register('./module-log-hooks.mjs', import.meta.url, { data: { log } });
  const require = createRequire(import.meta.url);
  process.on('exit', () => appendFileSync(log, `${Object.keys(require.cache).join('\n')}\n`));
}
