// Fetch leases of n processes in one: the workers' askers and the primary's
// lease book (runtime/cluster-leases.ts), minus the IPC between them.
import { deliverToBroker, LeaseBroker, leaseAsker, type LeaseAsker } from '../../src/runtime/cluster-leases.js';
import type { FetchLeases } from '../../src/util/leases.js';

export function processLeases(n: number): FetchLeases[] {
  const askers = new Map<number, LeaseAsker>();
  const broker = new LeaseBroker<number>((worker, id, outcome) => askers.get(worker)?.answer(id, outcome));
  return Array.from({ length: n }, (_, worker) => {
    const asker = leaseAsker((m) => {
      deliverToBroker(broker, worker, m);
      return true;
    });
    askers.set(worker, asker);
    return asker;
  });
}
