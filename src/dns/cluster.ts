// DNS on every core: N worker processes (Node cluster) share the DNS ports; this primary keeps the
// store and the API. UDP: with the batching addon each worker binds its own socket on the port
// (SO_REUSEPORT, the kernel spreads clients over them); with node:dgram (no SO_REUSEPORT in Node 20) the
// primary owns one socket per address that every worker reads. TCP: one listening socket, owned by the
// primary, that every worker accepts on (SCHED_NONE).
// Each committed change is announced to every worker with a sequence number; `whenSynced` calls back
// once every live worker has acknowledged everything announced so far, which is what the API waits for
// before it answers (read-your-writes on every worker). A worker that dies is replaced; the new one reads
// the database itself, so it starts with every committed change.
import cluster, { type Worker } from 'node:cluster';
import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import { ListenError } from '../model/errors.js';
import type { ZoneChange } from '../store/store.js';
import { addCounters, type DnsCounters, newCounters } from './engine.js';
import type { DnsServerOptions } from './server.js';
import type { FromWorker, ToWorker } from './worker.js';

export interface DnsClusterOptions {
  workers: number;
  dbPath: string;
  listen: string[];
  port: number;
  dns: Omit<DnsServerOptions, 'logger' | 'exclusive'>;
  logLevel: string;
  logger: Logger;
  /** The worker process's entry module, without extension (.js compiled, .ts from source through tsx). */
  entry: string;
  /** Passed to the entry's setup in each worker (JSON-safe). */
  extension?: unknown;
  /** Changes with more records than this are announced without them: workers reload the zone themselves. */
  maxInlineRecords?: number;
  /** A worker that has not acknowledged a change after this long is logged, killed and replaced. */
  ackTimeoutMs?: number;
}

interface Member {
  worker: Worker;
  /** Has been sent `init`: changes are sent to it from then on. */
  live: boolean;
  applied: number;
  counters: DnsCounters;
  extra: Record<string, number>;
}

/** The worker entry: compiled JavaScript, or the TypeScript source run through tsx (tests). */
function workerEntry(base: string): { exec: string; execArgv: string[] } {
  if (existsSync(`${base}.js`)) return { exec: `${base}.js`, execArgv: [] };
  return { exec: `${base}.ts`, execArgv: ['--import', 'tsx'] };
}

export class DnsCluster {
  private readonly opts: DnsClusterOptions;
  private readonly members = new Map<number, Member>();
  private seq = 0;
  private waiters: Array<{ seq: number; done: () => void }> = [];
  private closing = false;
  private boundPort = 0;
  private retired = newCounters();
  private retiredExtra: Record<string, number> = {};

  constructor(opts: DnsClusterOptions) {
    this.opts = opts;
  }

  get port(): number {
    return this.boundPort;
  }

  get size(): number {
    return this.members.size;
  }

  /** Fork the workers; resolves when every one has loaded the zones and listens. */
  async start(): Promise<void> {
    // Workers accept TCP connections themselves instead of the primary handing each one over.
    cluster.schedulingPolicy = cluster.SCHED_NONE;
    const entry = workerEntry(this.opts.entry);
    cluster.setupPrimary({ exec: entry.exec, execArgv: [...process.execArgv, ...entry.execArgv], args: [] });
    try {
      // The first worker fixes the port (with --dns-port 0 the primary's shared socket picks it).
      const first = await this.fork(this.opts.port);
      this.boundPort = first;
      const rest = [];
      for (let i = 1; i < this.opts.workers; i++) rest.push(this.fork(this.opts.port));
      await Promise.all(rest);
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  private fork(port: number): Promise<number> {
    const worker = cluster.fork({ VPSDNS_DNS_WORKER: '1' });
    const member: Member = { worker, live: false, applied: this.seq, counters: newCounters(), extra: {} };
    this.members.set(worker.id, member);
    return new Promise((resolve, reject) => {
      let ready = false;
      worker.on('message', (msg: FromWorker) => {
        switch (msg.t) {
          case 'hello': {
            const init: ToWorker = {
              t: 'init',
              options: this.opts.dns,
              dbPath: this.opts.dbPath,
              listen: this.opts.listen,
              port,
              logLevel: this.opts.logLevel,
              extension: this.opts.extension ?? null,
            };
            worker.send(init);
            // Changes announced between the fork and now are in the database the worker reads.
            member.applied = this.seq;
            member.live = true;
            return;
          }
          case 'ready':
            ready = true;
            this.opts.logger.info(
              { dnsWorker: worker.process.pid, zones: msg.zones, records: msg.records, zoneLoadMs: msg.loadMs },
              'DNS worker ready',
            );
            resolve(msg.port);
            return;
          case 'applied':
            member.applied = msg.seq;
            this.check();
            return;
          case 'counters':
            member.counters = msg.counters;
            member.extra = msg.extra;
            return;
          case 'error':
            if (!ready) reject(msg.listen ? new ListenError(msg.message) : new Error(msg.message));
            return;
        }
      });
      worker.on('exit', (code, signal) => {
        this.members.delete(worker.id);
        addCounters(this.retired, member.counters);
        for (const [k, v] of Object.entries(member.extra)) this.retiredExtra[k] = (this.retiredExtra[k] ?? 0) + v;
        this.check();
        if (!ready) {
          reject(new Error(`DNS worker exited during start (code ${code}, signal ${signal})`));
          return;
        }
        if (this.closing) return;
        this.opts.logger.error({ dnsWorker: worker.process.pid, code, signal }, 'DNS worker died; starting another');
        this.fork(this.boundPort).catch((err) => this.opts.logger.error({ err }, 'DNS worker could not restart'));
      });
    });
  }

  /** Tell every worker about a committed change (call synchronously from the store's event). */
  announce(change: ZoneChange): void {
    const seq = ++this.seq;
    const r = change.records;
    const inline = r && r.deleted.length + r.added.length <= (this.opts.maxInlineRecords ?? 2000);
    const msg: ToWorker = { t: 'change', seq, change: inline ? change : { ...change, records: undefined } };
    for (const m of this.members.values()) {
      if (m.live) m.worker.send(msg);
      else m.applied = seq; // it has not read the database yet: it will see this change there
    }
  }

  /** Call `done` once every live worker has applied every change announced so far. */
  whenSynced(done: () => void): void {
    const seq = this.seq;
    if (this.syncedTo(seq)) {
      done();
      return;
    }
    const timeout = this.opts.ackTimeoutMs ?? 5000;
    const timer = setTimeout(() => {
      for (const m of this.members.values()) {
        if (m.applied >= seq) continue;
        this.opts.logger.error(
          { dnsWorker: m.worker.process.pid, seq },
          'DNS worker did not apply a change; replacing it',
        );
        m.worker.process.kill('SIGKILL');
      }
    }, timeout);
    timer.unref();
    this.waiters.push({
      seq,
      done: () => {
        clearTimeout(timer);
        done();
      },
    });
  }

  private syncedTo(seq: number): boolean {
    for (const m of this.members.values()) if (m.applied < seq) return false;
    return true;
  }

  private check(): void {
    if (this.waiters.length === 0) return;
    const ready = this.waiters.filter((w) => this.syncedTo(w.seq));
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((w) => !this.syncedTo(w.seq));
    for (const w of ready) w.done();
  }

  /** The workers' own extra counters (see WorkerSetup), summed like `counters()`. */
  extraCounters(): Record<string, number> {
    const sum: Record<string, number> = { ...this.retiredExtra };
    for (const m of this.members.values()) for (const [k, v] of Object.entries(m.extra)) sum[k] = (sum[k] ?? 0) + v;
    return sum;
  }

  /** Query counters of every worker (as last pushed, about once a second) plus those of workers gone. */
  counters(): DnsCounters {
    const sum = newCounters();
    addCounters(sum, this.retired);
    for (const m of this.members.values()) addCounters(sum, m.counters);
    return sum;
  }

  async close(): Promise<void> {
    this.closing = true;
    const exits = [...this.members.values()].map(
      (m) =>
        new Promise<void>((resolve) => {
          if (m.worker.isDead()) return resolve();
          const timer = setTimeout(() => m.worker.process.kill('SIGKILL'), 5000);
          m.worker.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          try {
            m.worker.send({ t: 'stop' } satisfies ToWorker);
          } catch {
            m.worker.process.kill('SIGKILL');
          }
        }),
    );
    await Promise.all(exits);
    for (const w of this.waiters.splice(0)) w.done();
  }
}
