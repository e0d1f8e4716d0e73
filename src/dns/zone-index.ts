// The in-memory index of one zone, built from a store snapshot: absolute names -> RRsets with their
// RDATA pre-encoded, plus what the resolver needs (zone cuts, occluded names below them, empty
// non-terminals, the implicit SOA and apex NS). A change is patched in (`apply`: the deleted and added
// records, by record id), costing the size of the change, not of the zone; the caller rebuilds from a
// snapshot when `apply` says it cannot be exact. ZoneTable maps names to zones in O(labels) and tells
// the cache which zones changed.

import { toFqdn } from '../model/names.js';
import { type RecordType, toPacketData } from '../model/rdata.js';
import type { SoaSettings } from '../model/soa.js';
import type { StoredRecord } from '../store/store.js';
import type { ZoneEpoch } from './cache.js';
import { TYPE } from './wire.js';

/** One RR's RDATA: fixed bytes before, names, fixed bytes after. Names are compressed when `compress`. */
export interface Rdata {
  pre: Buffer | null;
  names: string[];
  compress: boolean;
  post: Buffer | null;
  /** The stored record's id (0 for the implicit SOA and NS): deletions find it, ANY orders by it. */
  id: number;
  /** The record's own TTL (the RRset serves the lowest). */
  ttl: number;
}

export interface RRset {
  /** Owner, absolute, lower case, no trailing dot. */
  name: string;
  type: number;
  ttl: number;
  rdata: Rdata[];
  /** Records whose RDATA repeats one in `rdata` (served once, RFC 2181 5); kept so deletions stay exact. */
  hidden?: Rdata[];
}

export interface Node {
  rrsets: Map<number, RRset>;
  /** At or below a zone cut: not authoritative, only glue. */
  occluded: boolean;
  /** Names directly below this one; a non-apex node with neither records nor children is removed. */
  children: number;
}

/** What an index is built from: a store snapshot, or records streamed from SQLite (src/dns/loader.ts). */
export interface ZoneSource {
  id: number;
  domain: string;
  serial: number;
  records: Iterable<StoredRecord>;
}

/** The Config fields a zone's implicit records come from. */
export type ZoneDefaults = SoaSettings;

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

function rd(pre: Buffer | null, names: string[], compress: boolean, post: Buffer | null): Rdata {
  return { pre, names, compress, post, id: 0, ttl: 0 };
}

/** Pre-encode a stored record's RDATA. */
export function recordRdata(type: RecordType, value: string, priority: number | null, id = 0, ttl = 0): Rdata {
  const r = encodeRdata(type, value, priority);
  r.id = id;
  r.ttl = ttl;
  return r;
}

function encodeRdata(type: RecordType, value: string, priority: number | null): Rdata {
  const host = (n: string) => (n === '.' ? '' : n);
  switch (type) {
    case 'A':
      return rd(Buffer.from(value.split('.').map(Number)), [], false, null);
    case 'AAAA':
      return rd(ipv6Bytes(value), [], false, null);
    case 'CNAME':
    case 'NS':
      return rd(null, [host(value)], true, null);
    case 'MX':
      return rd(u16(priority ?? 0), [host(value)], true, null);
    case 'SRV': {
      const [weight, port, target] = value.split(' ');
      const pre = Buffer.alloc(6);
      pre.writeUInt16BE(priority ?? 0, 0);
      pre.writeUInt16BE(Number(weight), 2);
      pre.writeUInt16BE(Number(port), 4);
      // RFC 2782: the target is not compressed.
      return rd(pre, [host(target)], false, null);
    }
    case 'TXT': {
      const strings = toPacketData('TXT', value, null) as Buffer[];
      return rd(Buffer.concat(strings.flatMap((s) => [Buffer.from([s.length]), s])), [], false, null);
    }
    case 'CAA': {
      const c = toPacketData('CAA', value, null) as { flags: number; tag: string; value: string };
      const tag = Buffer.from(c.tag, 'ascii');
      return rd(
        Buffer.concat([Buffer.from([c.flags, tag.length]), tag, Buffer.from(c.value, 'utf8')]),
        [],
        false,
        null,
      );
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
  const r = rd(null, [defaults.nameservers[0], defaults.hostmaster], true, post);
  r.ttl = defaults.soaTtl;
  return r;
}

/** Insert keeping record id order (as a rebuild reads them), so a patched index answers byte for byte alike. */
function insertById(list: Rdata[], rdata: Rdata): void {
  let at = list.length;
  while (at > 0 && list[at - 1].id > rdata.id) at--;
  list.splice(at, 0, rdata);
}

function sameRdata(a: Rdata, b: Rdata): boolean {
  const eq = (x: Buffer | null, y: Buffer | null) => (x === null ? y === null : y !== null && x.equals(y));
  return eq(a.pre, b.pre) && eq(a.post, b.post) && a.names.join(' ') === b.names.join(' ');
}

export class ZoneIndex {
  readonly id: number;
  readonly domain: string;
  serial: number;
  readonly labelCount: number;
  readonly nodes = new Map<string, Node>();
  /** Owners of non-apex NS RRsets. */
  readonly cuts = new Set<string>();
  readonly soa: RRset;
  /** The SOA as negative answers carry it: TTL = min(SOA TTL, SOA minimum) (RFC 2308 3). Shares the SOA's rdata. */
  readonly negativeSoa: RRset;
  private building = true;
  private readonly defaults: ZoneDefaults;

  constructor(snapshot: ZoneSource, defaults: ZoneDefaults) {
    this.id = snapshot.id;
    this.domain = snapshot.domain;
    this.serial = snapshot.serial;
    this.defaults = defaults;
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
      rdata: defaults.nameservers.map((ns) => recordRdata('NS', ns, null, 0, defaults.soaTtl)),
    });
    for (const r of snapshot.records) this.add(r);
    this.building = false;
    for (const [name, node] of this.nodes) {
      if (name !== this.domain && node.rrsets.has(TYPE.NS)) this.cuts.add(name);
    }
    this.markOccluded();
  }

  /**
   * Patch a committed change in: the records deleted (as they were) and added (with their ids).
   * Returns false when a deleted record is not in the index (the index and the change disagree); the
   * index is then half-changed and must be replaced by a rebuild before the next query.
   */
  apply(serial: number, deleted: readonly StoredRecord[], added: readonly StoredRecord[]): boolean {
    for (const r of deleted) if (!this.remove(r)) return false;
    for (const r of added) this.add(r);
    this.serial = serial;
    // negativeSoa shares this array, so both carry the new serial.
    this.soa.rdata[0] = soaRdata(this.defaults, serial);
    return true;
  }

  /** Add one record. */
  private add(r: StoredRecord): void {
    const owner = toFqdn(r.name, this.domain);
    const type = RR_TYPE_CODES[r.type];
    const node = this.node(owner);
    const rdata = recordRdata(r.type, r.value, r.priority, r.id, r.ttl);
    const rrset = node.rrsets.get(type);
    if (!rrset) {
      node.rrsets.set(type, { name: owner, type, ttl: r.ttl, rdata: [rdata] });
      if (!this.building && type === TYPE.NS && owner !== this.domain) {
        this.cuts.add(owner);
        this.markOccluded();
      }
      return;
    }
    // RFC 2181 5.2: one TTL per RRset; where records disagree, the lowest wins.
    rrset.ttl = Math.min(rrset.ttl, r.ttl);
    const dup = rrset.rdata.findIndex((d) => sameRdata(d, rdata));
    if (dup < 0) {
      insertById(rrset.rdata, rdata);
      return;
    }
    // The same RDATA twice is served once: the older record's, as a rebuild would.
    rrset.hidden ??= [];
    if (rdata.id < rrset.rdata[dup].id) {
      rrset.hidden.push(rrset.rdata[dup]);
      rrset.rdata.splice(dup, 1);
      insertById(rrset.rdata, rdata);
    } else rrset.hidden.push(rdata);
  }

  /** Remove one record (found by id); false when it is not in the index. */
  private remove(r: StoredRecord): boolean {
    const owner = toFqdn(r.name, this.domain);
    const type = RR_TYPE_CODES[r.type];
    const node = this.nodes.get(owner);
    const rrset = node?.rrsets.get(type);
    if (!node || !rrset) return false;
    const i = rrset.rdata.findIndex((d) => d.id === r.id);
    const h = i < 0 && rrset.hidden ? rrset.hidden.findIndex((d) => d.id === r.id) : -1;
    if (i < 0 && h < 0) return false;
    if (h >= 0) rrset.hidden!.splice(h, 1);
    else {
      const [gone] = rrset.rdata.splice(i, 1);
      // A hidden duplicate of the removed RDATA is served from now on (the oldest one).
      let next = -1;
      rrset.hidden?.forEach((d, k) => {
        if (sameRdata(d, gone) && (next < 0 || d.id < rrset.hidden![next].id)) next = k;
      });
      if (next >= 0) insertById(rrset.rdata, rrset.hidden!.splice(next, 1)[0]);
    }
    if (rrset.hidden?.length === 0) rrset.hidden = undefined;
    if (rrset.rdata.length > 0) {
      let ttl = rrset.rdata[0].ttl;
      for (const d of rrset.rdata) if (d.ttl < ttl) ttl = d.ttl;
      if (rrset.hidden) for (const d of rrset.hidden) if (d.ttl < ttl) ttl = d.ttl;
      rrset.ttl = ttl;
      return true;
    }
    node.rrsets.delete(type);
    if (type === TYPE.NS && owner !== this.domain) {
      this.cuts.delete(owner);
      this.markOccluded();
    }
    // Names left with neither records nor names below them disappear, up to the first that stays.
    let name = owner;
    let n: Node | undefined = node;
    while (n && name !== this.domain && n.rrsets.size === 0 && n.children === 0) {
      this.nodes.delete(name);
      name = name.slice(name.indexOf('.') + 1);
      n = this.nodes.get(name);
      if (n) n.children--;
    }
    return true;
  }

  /** The node of a name, created with its missing ancestors (empty non-terminals) up to the apex. */
  private node(name: string): Node {
    let n = this.nodes.get(name);
    if (n) return n;
    n = { rrsets: new Map(), occluded: false, children: 0 };
    this.nodes.set(name, n);
    if (name !== this.domain) {
      this.node(name.slice(name.indexOf('.') + 1)).children++;
      if (!this.building && this.cuts.size > 0) n.occluded = this.isOccluded(name);
    }
    return n;
  }

  private isOccluded(name: string): boolean {
    for (let n = name; n !== this.domain; n = n.slice(n.indexOf('.') + 1)) if (this.cuts.has(n)) return true;
    return false;
  }

  /** Recompute which names are at or below a cut (after a cut appears or goes: rare, O(names)). */
  private markOccluded(): void {
    for (const [name, node] of this.nodes) node.occluded = this.cuts.size > 0 && this.isOccluded(name);
  }
}

/** All loaded zones, by name (for the query path) and by id (for changes). */
export class ZoneTable {
  private readonly byName = new Map<string, ZoneIndex>();
  private readonly byId = new Map<number, ZoneIndex>();
  /** Per-zone epoch; a cached answer is valid while its zone's epoch is unchanged. */
  private readonly epochs = new Map<number, ZoneEpoch>();
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
    return this.epochs.get(id)?.epoch;
  }

  /** The zone's epoch object, which cache entries hold on to (its epoch is -1 once the zone is removed). */
  stateOf(id: number): ZoneEpoch | undefined {
    return this.epochs.get(id);
  }

  /** The zone's index changed in place: its cached answers are stale from now on. */
  touch(id: number): void {
    const state = this.epochs.get(id);
    if (state) state.epoch = ++this.epoch;
  }

  /** Swap in a new index for its zone; answers cached for it, or for a zone enclosing it, become stale. */
  set(zone: ZoneIndex): void {
    const old = this.byId.get(zone.id);
    if (old && old.domain !== zone.domain) this.remove(zone.id);
    this.byId.set(zone.id, zone);
    this.byName.set(zone.domain, zone);
    const state = this.epochs.get(zone.id);
    if (state) state.epoch = ++this.epoch;
    else this.epochs.set(zone.id, { epoch: ++this.epoch });
    if (!old || old.domain !== zone.domain) this.touchEnclosing(zone.domain);
  }

  remove(id: number): void {
    const zone = this.byId.get(id);
    if (!zone) return;
    this.byId.delete(id);
    if (this.byName.get(zone.domain) === zone) this.byName.delete(zone.domain);
    const state = this.epochs.get(id);
    if (state) state.epoch = -1;
    this.epochs.delete(id);
    this.touchEnclosing(zone.domain);
  }

  /** A zone appearing or disappearing inside another changes what the enclosing zone answers for. */
  private touchEnclosing(domain: string): void {
    let n = domain;
    while (n.includes('.')) {
      n = n.slice(n.indexOf('.') + 1);
      const z = this.byName.get(n);
      if (z) this.touch(z.id);
    }
  }
}
