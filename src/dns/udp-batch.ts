// Batched UDP sockets: the native addon (native/udp_batch.c, built at install on Linux) reads up to
// SLOTS datagrams with one recvmmsg(), this file answers them in one JavaScript call, and the addon sends
// the answers with one sendmmsg(). The datagrams, senders and answers live in buffers shared with the
// addon, so nothing is copied across the boundary. Without the addon, DnsServer uses node:dgram.
import { createRequire } from 'node:module';
import { ipv6GroupsText } from '../model/rdata.js';

interface Binding {
  ADDR_SIZE: number;
  open(
    address: string,
    port: number,
    reusePort: number,
    bufferBytes: number,
    slots: number,
    slotSize: number,
    received: Buffer,
    senders: Buffer,
    answers: Buffer,
    lengths: Int32Array,
    onBatch: (count: number) => void,
  ): { handle: unknown; port: number };
  close(handle: unknown): void;
  sendTo(handle: unknown, message: Buffer, slot: number): void;
  sendErrors(handle: unknown): number;
}

let binding: Binding | null | undefined;
let loadError: string | null = null;

/** The addon, or null when it was not built (another OS, no compiler): then `batchUdpUnavailable` says why. */
export function batchUdpBinding(): Binding | null {
  if (binding === undefined) {
    try {
      // The same path from src/dns (tsx) and dist/dns (compiled): both are two levels below the root.
      binding = createRequire(import.meta.url)('../../build/Release/udp_batch.node') as Binding;
    } catch (err) {
      binding = null;
      loadError = (err as Error).message.split('\n')[0];
    }
  }
  return binding;
}

export function batchUdpUnavailable(): string | null {
  batchUdpBinding();
  return loadError;
}

/** The answer to one datagram: none, one message, or several (zone transfer over UDP, NOTIFY). */
export type DatagramAnswer = Buffer | Buffer[] | null;
export type DatagramHandler = (message: Buffer, sender: string) => DatagramAnswer;

/** Datagrams per recvmmsg()/sendmmsg(). */
const SLOTS = 32;
/** Any UDP datagram fits: nothing is cut. Pages of a slot are only touched as far as a datagram reaches. */
const SLOT_SIZE = 65536;

export class BatchUdpSocket {
  readonly port: number;
  private readonly b: Binding;
  private readonly handle: unknown;
  private readonly received = Buffer.allocUnsafeSlow(SLOTS * SLOT_SIZE);
  private readonly senders: Buffer;
  private readonly answers = Buffer.allocUnsafeSlow(SLOTS * SLOT_SIZE);
  private readonly lengths = new Int32Array(SLOTS * 2);
  private readonly onError: (err: unknown) => void;
  private open = true;

  /** Binds at once (throws an Error with `code`, such as EADDRINUSE, as a dgram bind would). */
  constructor(
    b: Binding,
    address: string,
    port: number,
    opts: { reusePort: boolean; bufferBytes: number },
    private readonly handler: DatagramHandler,
    onError: (err: unknown) => void,
  ) {
    this.b = b;
    this.onError = onError;
    this.senders = Buffer.allocUnsafeSlow(SLOTS * b.ADDR_SIZE);
    const r = b.open(
      address,
      port,
      opts.reusePort ? 1 : 0,
      opts.bufferBytes,
      SLOTS,
      SLOT_SIZE,
      this.received,
      this.senders,
      this.answers,
      this.lengths,
      (count) => this.onBatch(count),
    );
    this.handle = r.handle;
    this.port = r.port;
  }

  /** Answers dropped because the send buffer was full (or the destination refused). */
  get sendErrors(): number {
    return this.open ? this.b.sendErrors(this.handle) : 0;
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    this.b.close(this.handle);
  }

  private onBatch(count: number): void {
    const lengths = this.lengths;
    for (let i = 0; i < count; i++) {
      const length = lengths[2 * i];
      if (length < 0) continue;
      const at = i * SLOT_SIZE;
      try {
        const answer = this.handler(this.received.subarray(at, at + length), senderAddress(this.senders, i));
        if (answer === null) continue;
        if (Array.isArray(answer)) {
          for (const m of answer) this.b.sendTo(this.handle, m, i);
        } else if (answer.length <= SLOT_SIZE) {
          this.answers.set(answer, at);
          lengths[2 * i + 1] = answer.length;
        }
      } catch (err) {
        this.onError(err);
      }
    }
  }
}

const AF_INET = 2;

/** The sender of slot i as text, as node:dgram gives it ('192.0.2.1', '2001:db8::1'). */
export function senderAddress(senders: Buffer, slot: number): string {
  const at = slot * 28;
  // sa_family is in host order (little-endian on every Linux Node supports but s390x; 2 either way
  // in its first byte there, so read both bytes).
  const family = senders[at] | senders[at + 1];
  if (family === AF_INET) {
    return `${senders[at + 4]}.${senders[at + 5]}.${senders[at + 6]}.${senders[at + 7]}`;
  }
  return ipv6Text(senders, at + 8);
}

/** RFC 5952 text of the 16 bytes at `at`: lower-case hex, the longest run of two or more zero groups as "::". */
export function ipv6Text(b: Buffer, at: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((b[at + 2 * i] << 8) | b[at + 2 * i + 1]);
  // IPv4-mapped addresses read as Node prints them: ::ffff:192.0.2.1
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${b[at + 12]}.${b[at + 13]}.${b[at + 14]}.${b[at + 15]}`;
  }
  return ipv6GroupsText(groups);
}
