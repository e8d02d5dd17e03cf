import { afterAll, beforeAll } from 'vitest';
import { endpoint } from './cli.js';
import { FaultProxy } from './fault-proxy.js';

/** A FaultProxy in front of the test server for the tests of one describe block. */
export function useFaultProxy(): { proxy: () => FaultProxy; endpoint: () => string } {
  let proxy: FaultProxy | undefined;
  let proxyEndpoint = '';
  beforeAll(async () => {
    proxy = new FaultProxy(endpoint());
    proxyEndpoint = await proxy.start();
  });
  afterAll(() => proxy?.stop());
  return { proxy: () => proxy!, endpoint: () => proxyEndpoint };
}
