// The DNS listeners: UDP and TCP (RFC 7766: length-prefixed messages, several per connection,
// answered in order, idle timeout, a cap on connections) on each listen address, one port for both.
// All answering is DnsEngine's; this file only moves bytes.
import dgram from 'node:dgram';
import net from 'node:net';
import type pino from 'pino';
import { type ListenError, listenError } from '../model/errors.js';
import type { SoaSettings } from '../model/soa.js';
import type { ZoneChange } from '../store/store.js';
import { DnsEngine, LATENCY_SAMPLE, observeLatency } from './engine.js';
import { ResponseRateLimiter, responseKey, truncatedResponse } from './rrl.js';
import {
  BatchUdpSocket,
  batchUdpBinding,
  batchUdpUnavailable,
  type DatagramAnswer,
  type DatagramHandler,
} from './udp-batch.js';
import { readQuestion } from './wire.js';
import type { ZoneSource } from './zone-index.js';

export interface DnsServerOptions extends SoaSettings {
  ednsPayload: number;
  tcpIdleTimeout: number;
  tcpMaxConnections: number;
  /** A TCP connection is closed after this long whatever it does (ms; 0 = no limit). */
  tcpSessionTimeout?: number;
  /** Response rate limiting on UDP: responses per second per client network and response (0 = off). */
  rrlRate?: number;
  /** Every rrlSlip-th limited response goes out truncated instead of being dropped. */
  rrlSlip?: number;
  /** Log 1 query in this many (0 = no query log). */
  queryLogSample?: number;
  logger?: pino.Logger;
  /** Answer cache bounds (defaults: 32768 answers, 32 MiB). */
  cacheEntries?: number;
  cacheBytes?: number;
  /** SO_RCVBUF / SO_SNDBUF of the UDP sockets (bytes; the kernel caps it at net.core.rmem_max / wmem_max). */
  dnsUdpBuffer?: number;
  /**
   * False in a cluster worker: the ports are shared by every worker (UDP: a batch socket of its own with
   * SO_REUSEPORT, or the primary's dgram socket read by all; TCP: the primary's listening socket, each
   * worker accepts). True (default): this process's own sockets.
   */
  exclusive?: boolean;
  /** UDP through the batching addon, node:dgram, or the addon when it was built (default). */
  udpIo?: 'auto' | 'batch' | 'dgram';
}

const BIND_ATTEMPTS = 8;
const DEFAULT_UDP_BUFFER = 2 * 1024 * 1024;

function bindError(err: NodeJS.ErrnoException, proto: string, address: string, port: number): ListenError {
  return listenError(err, `DNS over ${proto}`, address, port, '--dns-port');
}

/** A bound UDP socket of either kind. */
interface UdpListener {
  readonly port: number;
  close(): Promise<void>;
}

function bindDgram(
  address: string,
  port: number,
  exclusive: boolean,
  buffer: number,
  onMessage: DatagramHandler,
  log: pino.Logger | undefined,
): Promise<UdpListener> {
  return new Promise((resolve, reject) => {
    const type = net.isIPv6(address) ? 'udp6' : 'udp4';
    const sock = dgram.createSocket({ type, ipv6Only: type === 'udp6' });
    const onError = (err: Error) => {
      sock.close();
      reject(err);
    };
    sock.once('error', onError);
    sock.bind({ address, port, exclusive }, () => {
      sock.off('error', onError);
      // Large buffers (as NSD's 2 MiB) so a burst waits in the kernel instead of being dropped.
      if (buffer > 0) {
        try {
          sock.setRecvBufferSize(buffer);
          sock.setSendBufferSize(buffer);
        } catch {
          // Not allowed on this system: the kernel's default stays.
        }
      }
      sock.on('error', (err) => log?.warn({ err }, 'DNS UDP socket error'));
      sock.on('message', (msg, rinfo) => {
        const answer = onMessage(msg, rinfo.address);
        if (answer === null) return;
        if (Array.isArray(answer)) for (const m of answer) sock.send(m, rinfo.port, rinfo.address);
        else sock.send(answer, rinfo.port, rinfo.address);
      });
      resolve({ port: sock.address().port, close: () => new Promise<void>((done) => sock.close(() => done())) });
    });
  });
}

function bindTcp(server: net.Server, address: string, port: number, exclusive: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen({ host: address, port, ipv6Only: net.isIPv6(address), exclusive }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function closeTcp(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

export class DnsServer {
  readonly engine: DnsEngine;
  private readonly opts: DnsServerOptions;
  private readonly log: pino.Logger | undefined;
  private readonly udp: UdpListener[] = [];
  /** Which UDP path this server reads with. */
  readonly udpIo: 'batch' | 'dgram';
  private readonly batch: ReturnType<typeof batchUdpBinding>;
  private readonly tcp: net.Server[] = [];
  private readonly connections = new Set<net.Socket>();
  private port = 0;
  /** xfr hook: sees every message first; AXFR/IXFR/NOTIFY get their responses here, anything else null (src/xfr). */
  transfer: ((msg: Buffer, remote: string, tcp: boolean) => Buffer[] | null) | null = null;
  private readonly exclusive: boolean;
  private readonly rrl: ResponseRateLimiter;
  private sampleTick = 0;
  private logTick = 0;
  private rrlReported = { dropped: 0, slipped: 0, at: 0 };

  constructor(opts: DnsServerOptions) {
    this.opts = opts;
    this.exclusive = opts.exclusive ?? true;
    this.log = opts.logger;
    this.engine = new DnsEngine(opts);
    this.rrl = new ResponseRateLimiter({ ratePerSecond: opts.rrlRate ?? 0, slip: opts.rrlSlip ?? 2 });
    const io = opts.udpIo ?? 'auto';
    this.batch = io === 'dgram' ? null : batchUdpBinding();
    if (io === 'batch' && !this.batch) {
      throw new Error(
        `--dns-udp-io batch: the native addon is not built (${batchUdpUnavailable()}); run npm run build:native`,
      );
    }
    this.udpIo = this.batch ? 'batch' : 'dgram';
  }

  /** The answer to one UDP datagram (either UDP path). Never throws. */
  private answerDatagram(msg: Buffer, sender: string): DatagramAnswer {
    try {
      // xfr hook (UDP): IXFR/NOTIFY answered by src/xfr.
      const xfr = this.transfer?.(msg, sender, false);
      if (xfr) return xfr;
      const out = this.answer(msg, false, sender);
      return out && this.rrl.enabled ? this.limit(out, sender) : out;
    } catch (err) {
      this.log?.error({ err }, 'DNS query failed');
      return null;
    }
  }

  private async bindUdp(address: string, port: number): Promise<UdpListener> {
    const buffer = this.opts.dnsUdpBuffer ?? DEFAULT_UDP_BUFFER;
    const onMessage: DatagramHandler = (msg, sender) => this.answerDatagram(msg, sender);
    if (!this.batch) return bindDgram(address, port, this.exclusive, buffer, onMessage, this.log);
    // In a cluster worker every worker binds its own socket on the shared port (SO_REUSEPORT): the kernel
    // spreads clients over them.
    const sock = new BatchUdpSocket(
      this.batch,
      address,
      port,
      { reusePort: !this.exclusive, bufferBytes: buffer },
      onMessage,
      (err) => this.log?.error({ err }, 'DNS query failed'),
    );
    return {
      port: sock.port,
      close: async () => sock.close(),
    };
  }

  /** The engine's answer, timed for 1 query in LATENCY_SAMPLE (timing every one would cost the hot path). */
  private answer(msg: Buffer, tcp: boolean, client: string): Buffer | null {
    let out: Buffer | null;
    if (++this.sampleTick < LATENCY_SAMPLE) out = this.engine.handle(msg, tcp);
    else {
      this.sampleTick = 0;
      const t0 = performance.now();
      out = this.engine.handle(msg, tcp);
      observeLatency(this.engine.counters, (performance.now() - t0) / 1000);
    }
    const every = this.opts.queryLogSample ?? 0;
    if (every > 0 && ++this.logTick >= every) {
      this.logTick = 0;
      this.logQuery(out, tcp, client);
    }
    return out;
  }

  private logQuery(out: Buffer | null, tcp: boolean, client: string): void {
    const q = out ? readQuestion(out) : null;
    this.log?.info(
      {
        client,
        transport: tcp ? 'tcp' : 'udp',
        qname: q ? q.labels.join('.') || '.' : null,
        qtype: q?.qtype ?? null,
        rcode: out ? out[3] & 0x0f : null,
        bytes: out?.length ?? 0,
      },
      'dns query',
    );
  }

  /** A warning at most once a minute while response rate limiting holds answers back. */
  private reportRrl(): void {
    const c = this.engine.counters;
    const now = Date.now();
    if (now - this.rrlReported.at < 60_000) return;
    const since = this.rrlReported;
    this.rrlReported = { dropped: c.rrlDropped, slipped: c.rrlSlipped, at: now };
    this.log?.warn(
      { droppedSinceLastReport: c.rrlDropped - since.dropped, slippedSinceLastReport: c.rrlSlipped - since.slipped },
      'response rate limiting is active',
    );
  }

  /** Response rate limiting (UDP): the response, a truncated one (slip), or null (dropped). */
  private limit(out: Buffer, address: string): Buffer | null {
    const key = responseKey(out, (labels) => this.engine.zones.find(labels)?.domain ?? null);
    if (key === null) return out;
    const decision = this.rrl.decide(address, key.key);
    if (decision === 'send') return out;
    this.reportRrl();
    if (decision === 'slip') {
      this.engine.counters.rrlSlipped++;
      return truncatedResponse(out, key.questionEnd);
    }
    this.engine.counters.rrlDropped++;
    return null;
  }

  /** Build that zone's index and swap it in; its cached answers are dropped. Synchronous. */
  loadZone(snapshot: ZoneSource): void {
    this.engine.loadZone(snapshot);
  }

  /** Follow a committed store change (patch the index, or rebuild it from `snapshotOf`). Synchronous. */
  follow(change: ZoneChange, snapshotOf: (zoneId: number) => ZoneSource | null): 'patched' | 'loaded' | 'removed' {
    return this.engine.follow(change, snapshotOf);
  }

  /** Stop answering for the zone at once (its names get REFUSED, or the enclosing zone's answers). */
  removeZone(zoneId: number): void {
    this.engine.removeZone(zoneId);
  }

  get ports(): { udp: number; tcp: number } {
    return { udp: this.port, tcp: this.port };
  }

  async listen(addresses: string[], port: number): Promise<void> {
    if (addresses.length === 0) throw new Error('no address to listen on for DNS');
    try {
      const [first, ...rest] = addresses;
      this.port = await this.listenFirst(first, port);
      for (const address of rest) {
        try {
          await this.listenOn(address, this.port);
        } catch (err) {
          // A host without IPv6 still serves IPv4 when both were asked for (the default).
          const code = ((err as ListenError).cause as NodeJS.ErrnoException | undefined)?.code;
          if (!net.isIPv6(address) || (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL')) throw err;
          this.log?.warn({ address }, 'IPv6 is not available on this host; DNS not listening there');
        }
      }
    } catch (err) {
      await this.close();
      throw err;
    }
    this.log?.info({ addresses, port: this.port, udpIo: this.udpIo }, 'DNS listening on UDP and TCP');
  }

  /** The first address fixes the port: with port 0, UDP picks it and TCP must get the same one. */
  private async listenFirst(address: string, port: number): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      let sock: UdpListener;
      try {
        sock = await this.bindUdp(address, port);
      } catch (err) {
        throw bindError(err as NodeJS.ErrnoException, 'UDP', address, port);
      }
      const bound = sock.port;
      const server = this.tcpServer();
      try {
        await bindTcp(server, address, bound, this.exclusive);
      } catch (err) {
        await sock.close();
        const e = err as NodeJS.ErrnoException;
        if (port === 0 && e.code === 'EADDRINUSE' && attempt < BIND_ATTEMPTS) continue;
        throw bindError(e, 'TCP', address, bound);
      }
      this.udp.push(sock);
      this.tcp.push(server);
      return bound;
    }
  }

  private async listenOn(address: string, port: number): Promise<void> {
    try {
      this.udp.push(await this.bindUdp(address, port));
    } catch (err) {
      throw bindError(err as NodeJS.ErrnoException, 'UDP', address, port);
    }
    const server = this.tcpServer();
    try {
      await bindTcp(server, address, port, this.exclusive);
    } catch (err) {
      throw bindError(err as NodeJS.ErrnoException, 'TCP', address, port);
    }
    this.tcp.push(server);
  }

  private tcpServer(): net.Server {
    const server = net.createServer((conn) => this.onConnection(conn));
    server.maxConnections = this.opts.tcpMaxConnections;
    server.on('error', (err) => this.log?.warn({ err }, 'DNS TCP server error'));
    return server;
  }

  private onConnection(conn: net.Socket): void {
    if (this.connections.size >= this.opts.tcpMaxConnections) {
      conn.destroy();
      return;
    }
    this.connections.add(conn);
    const counters = this.engine.counters;
    counters.tcpConnections++;
    counters.tcpOpen++;
    conn.setNoDelay(true);
    conn.setTimeout(this.opts.tcpIdleTimeout, () => conn.destroy());
    // A total lifetime too, so a client trickling queries cannot hold a connection forever.
    const session = this.opts.tcpSessionTimeout
      ? setTimeout(() => conn.end(), this.opts.tcpSessionTimeout).unref()
      : null;
    conn.on('close', () => {
      this.connections.delete(conn);
      counters.tcpOpen--;
      if (session) clearTimeout(session);
    });
    conn.on('error', () => conn.destroy());
    let pending: Buffer = Buffer.alloc(0);
    conn.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      // Every complete message is answered in the order received (RFC 7766 6.2.1.1 allows either order).
      while (pending.length >= 2) {
        const len = pending.readUInt16BE(0);
        if (pending.length < 2 + len) break;
        const msg = pending.subarray(2, 2 + len);
        pending = pending.subarray(2 + len);
        let out: Buffer | null;
        try {
          // xfr hook (TCP): AXFR/IXFR/NOTIFY answered by src/xfr, every message framed in order.
          const xfr = this.transfer?.(msg, conn.remoteAddress ?? '', true);
          if (xfr) {
            for (const m of xfr) {
              const f = Buffer.allocUnsafe(m.length + 2);
              f.writeUInt16BE(m.length, 0);
              m.copy(f, 2);
              conn.write(f);
            }
            continue;
          }
          out = this.answer(msg, true, conn.remoteAddress ?? '');
        } catch (err) {
          this.log?.error({ err }, 'DNS query failed');
          out = null;
        }
        if (!out) continue;
        const frame = Buffer.allocUnsafe(out.length + 2);
        frame.writeUInt16BE(out.length, 0);
        out.copy(frame, 2);
        if (!conn.write(frame)) {
          // The client reads slower than it asks: stop reading until it catches up.
          conn.pause();
          conn.once('drain', () => conn.resume());
        }
      }
      if (pending.length > 0 && pending.buffer === chunk.buffer) pending = Buffer.from(pending);
    });
  }

  /** Stop listening; TCP answers already written are flushed (end), stragglers cut after a second. */
  async close(): Promise<void> {
    for (const conn of this.connections) {
      conn.end();
      setTimeout(() => conn.destroy(), 1000).unref();
    }
    this.connections.clear();
    const udp = this.udp.splice(0);
    const tcp = this.tcp.splice(0);
    await Promise.all([...udp.map((s) => s.close()), ...tcp.map(closeTcp)]);
  }
}
