/**
 * Global setup of the acceptance run: the S3-compatible test server the configs point at
 * (scripts/serve-fixtures.mjs, also `npm run serve:fixtures` for Airbyte's own suite).
 */
import { serveAcceptanceFixtures } from '../scripts/serve-fixtures.mjs';
import { acceptanceConfigFile, loadAcceptanceConfig } from './acceptance-config.js';
import { describeConnector, PROJECT_ROOT } from './connector.js';

export default async function setup(): Promise<() => Promise<void>> {
  const acceptance = loadAcceptanceConfig(acceptanceConfigFile(PROJECT_ROOT), PROJECT_ROOT);
  const served = await serveAcceptanceFixtures(acceptance.acceptance_tests as Parameters<typeof serveAcceptanceFixtures>[0]);
  console.error(`acceptance: ${served.buckets.join(', ')} served at ${served.endpoint}; connector: ${describeConnector()}`);
  return served.stop;
}
