// A worker's coordination through its primary (serve --workers N), in one
// process: the worker's messages are handed to the primary's handler
// (serveCoordination) and its answers back, as the cluster's IPC would; a
// silent primary drops them. test/e2e/workers.test.ts runs real workers.
import cluster from 'node:cluster';
import { afterEach, expect, it, vi } from 'vitest';
import { LocalCoord } from '../../src/coord/index.js';
import { serveCoordination, WorkerCoord } from '../../src/runtime/cluster-coord.js';

const isCoordCall = (m: unknown): boolean => (m as { type?: unknown } | null)?.type === 'godepot:coord?';

/** Routes this worker's coordination calls to `primary` (or drops them when it is silent); vitest's own messages pass. */
function primaryOf(primary: 'silent' | 'answers'): void {
  const send = process.send?.bind(process);
  const fakeWorker = {
    isConnected: () => true,
    send: (answer: unknown) => process.emit('message', answer, undefined),
  };
  vi.spyOn(process, 'send').mockImplementation((m: unknown, ...rest: unknown[]) => {
    if (!isCoordCall(m)) return (send as (...a: unknown[]) => boolean)(m, ...rest);
    if (primary === 'answers') cluster.emit('message', fakeWorker, m);
    return true;
  });
}

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

it.skipIf(!process.send)('publishes a tree head through the primary by compare-and-set', async () => {
  serveCoordination(new LocalCoord());
  primaryOf('answers');
  const w1 = new WorkerCoord();
  const w2 = new WorkerCoord();
  expect(await w1.compareAndSetHead('db', null, Buffer.from('h1'))).toBe(true);
  expect(await w2.compareAndSetHead('db', null, Buffer.from('h2'))).toBe(false);
  expect(await w2.head('db')).toEqual(Buffer.from('h1'));
  await w1.close();
  await w2.close();
});

it.skipIf(!process.send)('stops listening to the primary when closed', async () => {
  const before = process.listenerCount('message');
  const beforeDisconnect = process.listenerCount('disconnect');
  const w = new WorkerCoord();
  expect(process.listenerCount('message')).toBeGreaterThan(before);
  await w.close();
  expect(process.listenerCount('message')).toBe(before);
  expect(process.listenerCount('disconnect')).toBe(beforeDisconnect);
});

it.skipIf(!process.send)('does not take a compare-and-set its primary never answered for a success', async () => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  primaryOf('silent'); // there, but hung or too busy to answer within the deadline
  const w = new WorkerCoord();
  const cas = w.compareAndSetHead('db', null, Buffer.from('h1'));
  await vi.advanceTimersByTimeAsync(2_000);
  expect(await cas).toBe(false);
  await w.close();
});
