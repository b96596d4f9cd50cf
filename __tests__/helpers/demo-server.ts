// The demo target (demo/server.ts) on a free port of 127.0.0.1 for the tests of one file.
import { afterAll, beforeAll } from 'vitest';
import { startDemoServer, type DemoServer, type DemoServerOptions } from '../../demo/server.ts';

/**
 * Call at the top level of a test file: the returned object becomes the demo server before the file's tests (read
 * its fields inside tests, not at the top level) and is closed after them.
 */
export function useDemoServer(opts: DemoServerOptions = {}): DemoServer {
  const demo = {} as DemoServer;
  beforeAll(async () => {
    Object.assign(demo, await startDemoServer({ port: 0, ...opts }));
  });
  afterAll(async () => {
    await demo.close?.();
  });
  return demo;
}
