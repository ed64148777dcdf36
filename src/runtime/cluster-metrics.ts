// /metrics with --workers N: whichever worker a scrape reaches answers for
// the whole group. The worker asks the primary, which gathers every
// worker's series (prom-client's AggregatorRegistry, over the cluster's IPC
// channel) and sums them; without this each scrape would see one worker's
// counters and Prometheus would read the jumps between workers as resets.
import cluster from 'node:cluster';
import type { AggregatorRegistry, PrometheusContentType, Registry } from 'prom-client';
import { is, PrimaryQuestions, type Asked } from './cluster-ipc.js';

const ASK = 'godepot:metrics?';
const ANSWER = 'godepot:metrics!';
/** prom-client gives up on a silent worker after 5 s; the asking worker waits a little longer. */
const ANSWER_TIMEOUT_MS = 7_000;

type Ask = Asked<typeof ASK>;
type Answer = Asked<typeof ANSWER, { text?: string; error?: string }>;

/** In the primary: answers workers' requests for the group's metrics. */
export function serveGroupMetrics(): void {
  // prom-client is loaded at the first scrape: the primary starts its workers without it (~60 ms).
  let group: Promise<AggregatorRegistry<PrometheusContentType>> | undefined;
  cluster.on('message', (worker, message: unknown) => {
    if (!is<Ask>(message, ASK)) return;
    const reply = (a: Omit<Answer, 'type' | 'id'>): void => {
      if (worker.isConnected()) worker.send({ type: ANSWER, id: message.id, ...a } satisfies Answer);
    };
    group ??= import('prom-client').then((m) => new m.AggregatorRegistry());
    group
      .then((g) => g.clusterMetrics())
      .then(
        (text) => reply({ text }),
        (err: unknown) => reply({ error: err instanceof Error ? err.message : String(err) }),
      );
  });
}

/**
 * In a worker: offers registry to the primary's gatherings and returns the
 * function /metrics answers with (the whole group's text).
 */
export function groupMetricsText(registry: Registry): () => Promise<string> {
  // Loaded already (the worker's own metrics use it), so this settles at once: a gathering asks every worker.
  const offered = import('prom-client').then(({ AggregatorRegistry }) => {
    AggregatorRegistry.setRegistries([registry]);
    // Constructing one installs prom-client's listener for the primary's gathering requests.
    new AggregatorRegistry();
  });
  const primary = new PrimaryQuestions<Answer>(ANSWER, ANSWER_TIMEOUT_MS);
  return async () => {
    await offered;
    if (!primary.connected) throw new Error('godepot: this worker has lost its primary process');
    const a = await primary.ask({ type: ASK });
    if (!a)
      throw new Error(
        `godepot: the primary process did not gather the workers' metrics within ${ANSWER_TIMEOUT_MS / 1000} s`,
      );
    if (a.text === undefined)
      throw new Error(`godepot: gathering the workers' metrics failed: ${a.error ?? 'no answer'}`);
    return a.text;
  };
}
