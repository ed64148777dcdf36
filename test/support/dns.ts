// A DNS seam for tests: godepot's upstream pools resolve names with this
// lookup instead of the system resolver, so a test can make a host "not
// resolve" without a query ever leaving loopback. IP literals never reach a
// lookup, so the test world (127.0.0.1) is unaffected.
import type { LookupFunction } from 'node:net';

/** A lookup under which no name resolves (ENOTFOUND), as in a DNS outage; records the names asked. */
export function noNameResolves(asked: string[] = []): LookupFunction {
  return (hostname, _options, callback) => {
    asked.push(hostname);
    const err = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), {
      code: 'ENOTFOUND',
      hostname,
      syscall: 'getaddrinfo',
    });
    process.nextTick(() => callback(err, '', 4));
  };
}
