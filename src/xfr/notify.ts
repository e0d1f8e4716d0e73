// NOTIFY out (RFC 1996): after a committed change, tell every configured secondary that the zone has
// a new serial, over UDP, with the SOA in the answer section and AA set, signed when the target has a
// key. Retried with back-off (1 s doubling, at most 60 s) until a matching response or `retries` sends.
// Bursts coalesce: changes within `delayMs` give one NOTIFY carrying the latest serial.
import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import type pino from 'pino';
import { FLAG_AA, OPCODE_NOTIFY, TYPE } from '../dns/wire.js';
import { type ZoneDefaults, ZoneIndex } from '../dns/zone-index.js';
import type { NotifyTarget } from './config.js';
import { nameWire, parseMessage } from './message.js';
import { soaAt, toMessages } from './transfer.js';
import { type KeyRing, signRequest, type TsigKey, verifyResponse } from './tsig.js';

export interface NotifyOptions {
  targets: NotifyTarget[];
  keys: KeyRing;
  fudge: number;
  /** Sends per change and target before giving up. */
  retries: number;
  /** The implicit SOA's fields. */
  defaults: ZoneDefaults;
  logger?: pino.Logger;
  /** Coalescing delay before the first send (default 50 ms). */
  delayMs?: number;
  /** First retry after this (default 1000 ms), doubling up to maxRetryMs (default 60 000 ms). */
  retryMs?: number;
  maxRetryMs?: number;
}

export interface NotifyResult {
  target: string;
  zone: string;
  serial: number;
  /** The response's rcode, or null when every try went unanswered. */
  rcode: number | null;
  tries: number;
}

interface Pending {
  target: NotifyTarget;
  key: TsigKey | null;
  zone: string;
  serial: number;
  tries: number;
  timer: NodeJS.Timeout | null;
  /** Id and MAC of the last send, which the response must match. */
  id: number;
  mac: Buffer | null;
}

export class NotifySender {
  private readonly o: Required<Omit<NotifyOptions, 'logger'>> & { logger?: pino.Logger };
  private readonly pending = new Map<string, Pending>();
  private readonly sockets = new Map<'udp4' | 'udp6', dgram.Socket>();
  private closed = false;
  /** Called when a NOTIFY is answered or given up (metrics, tests). */
  onResult: ((r: NotifyResult) => void) | null = null;

  constructor(opts: NotifyOptions) {
    this.o = { delayMs: 50, retryMs: 1000, maxRetryMs: 60_000, ...opts };
  }

  get targets(): NotifyTarget[] {
    return this.o.targets;
  }

  /** A zone got a new serial: NOTIFY every target (after the coalescing delay). */
  zoneChanged(zone: string, serial: number): void {
    if (this.closed) return;
    for (const target of this.o.targets) {
      const k = `${target.text}|${zone}`;
      let p = this.pending.get(k);
      if (!p) {
        p = {
          target,
          key: target.key ? (this.o.keys.get(target.key) ?? null) : null,
          zone,
          serial,
          tries: 0,
          timer: null,
          id: -1,
          mac: null,
        };
        this.pending.set(k, p);
      }
      p.serial = serial;
      p.tries = 0;
      if (p.timer) clearTimeout(p.timer);
      p.timer = setTimeout(() => this.send(k), this.o.delayMs);
      p.timer.unref();
    }
  }

  private socket(address: string): dgram.Socket {
    const type = isIPv6(address) ? 'udp6' : 'udp4';
    let sock = this.sockets.get(type);
    if (!sock) {
      sock = dgram.createSocket(type);
      sock.on('message', (msg, rinfo) => this.onResponse(msg, rinfo));
      sock.on('error', (err) => this.o.logger?.warn({ err }, 'NOTIFY socket error'));
      sock.bind(0);
      sock.unref();
      this.sockets.set(type, sock);
    }
    return sock;
  }

  private message(p: Pending): Buffer {
    // The SOA as the zone index builds it (same names, timers), with this serial.
    const index = new ZoneIndex({ id: 0, domain: p.zone, serial: p.serial, records: [] }, this.o.defaults);
    const question = Buffer.concat([nameWire(p.zone), Buffer.from([0, TYPE.SOA, 0, 1])]);
    const [bytes] = toMessages([soaAt(index, p.serial)], {
      id: p.id,
      flags: (OPCODE_NOTIFY << 11) | FLAG_AA,
      question,
      qname: p.zone,
      limit: 512,
      ednsPayload: null,
      reserve: 0,
    });
    return bytes;
  }

  /** Counters for /metrics. */
  readonly stats = { sent: 0, acknowledged: 0, errors: 0, unanswered: 0 };

  private send(k: string): void {
    const p = this.pending.get(k);
    if (!p || this.closed) return;
    p.timer = null;
    if (p.tries >= this.o.retries) {
      this.o.logger?.warn(
        { target: p.target.text, zone: p.zone, serial: p.serial, tries: p.tries },
        'NOTIFY unanswered',
      );
      this.pending.delete(k);
      this.stats.unanswered++;
      this.onResult?.({ target: p.target.text, zone: p.zone, serial: p.serial, rcode: null, tries: p.tries });
      return;
    }
    p.tries++;
    p.id = randomInt(0, 65536);
    let bytes = this.message(p);
    p.mac = null;
    if (p.key) {
      const signed = signRequest(bytes, p.key, Math.floor(Date.now() / 1000), this.o.fudge);
      bytes = signed.bytes;
      p.mac = signed.mac;
    }
    this.stats.sent++;
    this.socket(p.target.address).send(bytes, p.target.port, p.target.address, (err) => {
      if (err) this.o.logger?.warn({ err, target: p.target.text }, 'NOTIFY send failed');
    });
    const wait = Math.min(this.o.retryMs * 2 ** (p.tries - 1), this.o.maxRetryMs);
    p.timer = setTimeout(() => this.send(k), wait);
    p.timer.unref();
  }

  private onResponse(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const m = parseMessage(msg);
    if (!m?.qr || m.opcode !== OPCODE_NOTIFY) return;
    const from = rinfo.address.replace(/^::ffff:/, '');
    for (const [k, p] of this.pending) {
      if (p.id !== m.id || p.target.port !== rinfo.port || p.target.address !== from || p.zone !== m.qname) continue;
      if (p.key && p.mac && !verifyResponse(m, p.key, p.mac)) {
        this.o.logger?.warn({ target: p.target.text, zone: p.zone }, 'NOTIFY response with a bad TSIG ignored');
        return;
      }
      const rcode = m.flags & 0xf;
      if (p.timer) clearTimeout(p.timer);
      this.pending.delete(k);
      const log = { target: p.target.text, zone: p.zone, serial: p.serial, rcode, tries: p.tries };
      if (rcode === 0) {
        this.stats.acknowledged++;
        this.o.logger?.info(log, 'NOTIFY acknowledged');
      } else {
        this.stats.errors++;
        this.o.logger?.warn(log, 'NOTIFY answered with an error');
      }
      this.onResult?.({ target: p.target.text, zone: p.zone, serial: p.serial, rcode, tries: p.tries });
      return;
    }
  }

  close(): void {
    this.closed = true;
    for (const p of this.pending.values()) if (p.timer) clearTimeout(p.timer);
    this.pending.clear();
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
  }
}
