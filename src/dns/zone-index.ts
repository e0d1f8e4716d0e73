// The in-memory index of one zone, built from a store snapshot: absolute names -> RRsets with their
// RDATA pre-encoded, plus what the resolver needs (zone cuts, occluded names below them, empty
// non-terminals, the implicit SOA and apex NS). Built once per change, then never mutated.
// ZoneTable maps names to zones in O(labels) and tells the cache which zones changed.
import { toFqdn } from '../model/names.js';
import { type RecordType, toPacketData } from '../model/rdata.js';
import type { ZoneSnapshot } from '../store/store.js';
import { TYPE } from './wire.js';

/** One RR's RDATA: fixed bytes before, names, fixed bytes after. Names are compressed when `compress`. */
export interface Rdata {
  pre: Buffer | null;
  names: string[];
  compress: boolean;
  post: Buffer | null;
}

export interface RRset {
  /** Owner, absolute, lower case, no trailing dot. */
  name: string;
  type: number;
  ttl: number;
  rdata: Rdata[];
}

export interface Node {
  rrsets: Map<number, RRset>;
  /** At or below a zone cut: not authoritative, only glue. */
  occluded: boolean;
}

/** The Config fields a zone's implicit records come from. */
export interface ZoneDefaults {
  nameservers: string[];
  hostmaster: string;
  soaTtl: number;
  soaRefresh: number;
  soaRetry: number;
  soaExpire: number;
  soaMinimum: number;
}

export const RR_TYPE_CODES: Record<RecordType, number> = {
  A: TYPE.A,
  AAAA: TYPE.AAAA,
  CNAME: TYPE.CNAME,
  MX: TYPE.MX,
  TXT: TYPE.TXT,
  NS: TYPE.NS,
  SRV: TYPE.SRV,
  CAA: TYPE.CAA,
};

function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
}

function ipv6Bytes(text: string): Buffer {
  // Stored AAAA values are canonical RFC 5952 text without an IPv4 tail.
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const b = Buffer.alloc(16);
  for (let i = 0; i < 8; i++) b.writeUInt16BE(Number.parseInt(groups[i], 16), i * 2);
  return b;
}

/** Pre-encode a stored record's RDATA. */
export function recordRdata(type: RecordType, value: string, priority: number | null): Rdata {
  const host = (n: string) => (n === '.' ? '' : n);
  switch (type) {
    case 'A':
      return { pre: Buffer.from(value.split('.').map(Number)), names: [], compress: false, post: null };
    case 'AAAA':
      return { pre: ipv6Bytes(value), names: [], compress: false, post: null };
    case 'CNAME':
    case 'NS':
      return { pre: null, names: [host(value)], compress: true, post: null };
    case 'MX':
      return { pre: u16(priority ?? 0), names: [host(value)], compress: true, post: null };
    case 'SRV': {
      const [weight, port, target] = value.split(' ');
      const pre = Buffer.alloc(6);
      pre.writeUInt16BE(priority ?? 0, 0);
      pre.writeUInt16BE(Number(weight), 2);
      pre.writeUInt16BE(Number(port), 4);
      // RFC 2782: the target is not compressed.
      return { pre, names: [host(target)], compress: false, post: null };
    }
    case 'TXT': {
      const strings = toPacketData('TXT', value, null) as Buffer[];
      return {
        pre: Buffer.concat(strings.flatMap((s) => [Buffer.from([s.length]), s])),
        names: [],
        compress: false,
        post: null,
      };
    }
    case 'CAA': {
      const c = toPacketData('CAA', value, null) as { flags: number; tag: string; value: string };
      const tag = Buffer.from(c.tag, 'ascii');
      return {
        pre: Buffer.concat([Buffer.from([c.flags, tag.length]), tag, Buffer.from(c.value, 'utf8')]),
        names: [],
        compress: false,
        post: null,
      };
    }
  }
}

function soaRdata(defaults: ZoneDefaults, serial: number): Rdata {
  const post = Buffer.alloc(20);
  post.writeUInt32BE(serial >>> 0, 0);
  post.writeUInt32BE(defaults.soaRefresh, 4);
  post.writeUInt32BE(defaults.soaRetry, 8);
  post.writeUInt32BE(defaults.soaExpire, 12);
  post.writeUInt32BE(defaults.soaMinimum, 16);
  return { pre: null, names: [defaults.nameservers[0], defaults.hostmaster], compress: true, post };
}

function sameRdata(a: Rdata, b: Rdata): boolean {
  const eq = (x: Buffer | null, y: Buffer | null) => (x === null ? y === null : y !== null && x.equals(y));
  return eq(a.pre, b.pre) && eq(a.post, b.post) && a.names.join(' ') === b.names.join(' ');
}

function isBelow(name: string, ancestor: string): boolean {
  return name.endsWith(`.${ancestor}`);
}

export class ZoneIndex {
  readonly id: number;
  readonly domain: string;
  readonly serial: number;
  readonly labelCount: number;
  readonly nodes = new Map<string, Node>();
  /** Owners of non-apex NS RRsets. */
  readonly cuts = new Set<string>();
  readonly soa: RRset;
  /** The SOA as negative answers carry it: TTL = min(SOA TTL, SOA minimum) (RFC 2308 3). */
  readonly negativeSoa: RRset;

  constructor(snapshot: ZoneSnapshot, defaults: ZoneDefaults) {
    this.id = snapshot.id;
    this.domain = snapshot.domain;
    this.serial = snapshot.serial;
    this.labelCount = this.domain.split('.').length;
    const apex = this.node(this.domain);
    this.soa = {
      name: this.domain,
      type: TYPE.SOA,
      ttl: defaults.soaTtl,
      rdata: [soaRdata(defaults, snapshot.serial)],
    };
    this.negativeSoa = { ...this.soa, ttl: Math.min(defaults.soaTtl, defaults.soaMinimum) };
    apex.rrsets.set(TYPE.SOA, this.soa);
    apex.rrsets.set(TYPE.NS, {
      name: this.domain,
      type: TYPE.NS,
      ttl: defaults.soaTtl,
      rdata: defaults.nameservers.map((ns) => recordRdata('NS', ns, null)),
    });

    for (const r of snapshot.records) {
      const owner = toFqdn(r.name, this.domain);
      const type = RR_TYPE_CODES[r.type];
      const node = this.node(owner);
      const rdata = recordRdata(r.type, r.value, r.priority);
      const rrset = node.rrsets.get(type);
      if (!rrset) {
        node.rrsets.set(type, { name: owner, type, ttl: r.ttl, rdata: [rdata] });
        continue;
      }
      // RFC 2181 5.2: one TTL per RRset; where records disagree, the lowest wins.
      rrset.ttl = Math.min(rrset.ttl, r.ttl);
      if (!rrset.rdata.some((d) => sameRdata(d, rdata))) rrset.rdata.push(rdata);
    }

    // Empty non-terminals: every ancestor of a name, up to the apex, exists.
    for (const name of [...this.nodes.keys()]) {
      let n = name;
      while (n !== this.domain) {
        n = n.slice(n.indexOf('.') + 1);
        if (this.nodes.has(n)) break;
        this.node(n);
      }
    }
    for (const [name, node] of this.nodes) {
      if (name !== this.domain && node.rrsets.has(TYPE.NS)) this.cuts.add(name);
    }
    if (this.cuts.size > 0) {
      for (const [name, node] of this.nodes) {
        for (const cut of this.cuts) {
          if (name === cut || isBelow(name, cut)) {
            node.occluded = true;
            break;
          }
        }
      }
    }
  }

  private node(name: string): Node {
    let n = this.nodes.get(name);
    if (!n) {
      n = { rrsets: new Map(), occluded: false };
      this.nodes.set(name, n);
    }
    return n;
  }
}

/** All loaded zones, by name (for the query path) and by id (for changes). */
export class ZoneTable {
  private readonly byName = new Map<string, ZoneIndex>();
  private readonly byId = new Map<number, ZoneIndex>();
  /** Per-zone epoch; a cached answer is valid while its zone's epoch is unchanged. */
  private readonly epochs = new Map<number, number>();
  private epoch = 0;

  get size(): number {
    return this.byId.size;
  }

  /** The closest enclosing zone of a name given as labels: one map lookup per suffix. */
  find(labels: string[]): ZoneIndex | null {
    let suffix = '';
    let best: ZoneIndex | null = null;
    // From the root down, so the deepest (most specific) zone wins.
    for (let i = labels.length - 1; i >= 0; i--) {
      suffix = suffix === '' ? labels[i] : `${labels[i]}.${suffix}`;
      const z = this.byName.get(suffix);
      if (z) best = z;
    }
    return best;
  }

  get(id: number): ZoneIndex | undefined {
    return this.byId.get(id);
  }

  epochOf(id: number): number | undefined {
    return this.epochs.get(id);
  }

  /** Swap in a new index for its zone; answers cached for it, or for a zone enclosing it, become stale. */
  set(zone: ZoneIndex): void {
    const old = this.byId.get(zone.id);
    if (old && old.domain !== zone.domain) this.remove(zone.id);
    this.byId.set(zone.id, zone);
    this.byName.set(zone.domain, zone);
    this.epochs.set(zone.id, ++this.epoch);
    if (!old || old.domain !== zone.domain) this.touchEnclosing(zone.domain);
  }

  remove(id: number): void {
    const zone = this.byId.get(id);
    if (!zone) return;
    this.byId.delete(id);
    if (this.byName.get(zone.domain) === zone) this.byName.delete(zone.domain);
    this.epochs.delete(id);
    this.touchEnclosing(zone.domain);
  }

  /** A zone appearing or disappearing inside another changes what the enclosing zone answers for. */
  private touchEnclosing(domain: string): void {
    let n = domain;
    while (n.includes('.')) {
      n = n.slice(n.indexOf('.') + 1);
      const z = this.byName.get(n);
      if (z) this.epochs.set(z.id, ++this.epoch);
    }
  }
}
