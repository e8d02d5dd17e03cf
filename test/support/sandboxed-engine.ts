import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { Engine } from '../../src/engine/engine.js';

/** The project's sandboxed Engine over a fresh temp folder, for a test file: open before its tests, closed and removed after. */
export function useSandboxedEngine(prefix: string): { readonly engine: Engine; readonly dir: string } {
  const sandbox = {} as { engine: Engine; dir: string };
  beforeAll(async () => {
    sandbox.dir = mkdtempSync(join(tmpdir(), prefix));
    sandbox.engine = await Engine.create(sandbox.dir);
  });
  afterAll(async () => {
    await sandbox.engine.close();
    rmSync(sandbox.dir, { recursive: true, force: true });
  });
  return sandbox;
}
