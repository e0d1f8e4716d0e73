// The in-memory index of one zone, built from a store snapshot: absolute names -> RRsets with their
// RDATA pre-encoded, plus what the resolver needs (zone cuts, occluded names below them, empty
// non-terminals, the implicit SOA and apex NS). A change is patched in (`apply`: the deleted and added
// records, by record id), costing the size of the change, not of the zone; the caller rebuilds from a
// snapshot when `apply` says it cannot be exact. ZoneTable maps names to zones in O(labels) and tells
// the cache which zones changed.
//
// Sized for millions of records: per name one map entry whose value is the name's first RRset (the
// others chained by `next`), per record one small object whose fixed RDATA bytes are a latin1 string;
// no per-name Map, no Buffer per record, and what every zone shares (implicit NS, SOA names) is made once.

import { toFqdn } from '../model/names.js';
import { type RecordType, toPacketData } from '../model/rdata.js';
import type { SoaSettings } from '../model/soa.js';
import type { StoredRecord } from '../store/store.js';
import type { ZoneEpoch } from './cache.js';
import { TYPE } from './wire.js';

/**
 * One RR's RDATA, pre-encoded: fixed bytes, names, fixed bytes. Fixed bytes are latin1 strings (one
 * character per byte): a short string is a quarter of a Buffer object's size, needs no ArrayBuffer,
 * and compares with `===`. Names are compressed on the wire, except an SRV target (RFC 2782). Never
 * changed once made (the implicit NS RDATA and the SOA's names are shared by every zone).
 */
export interface Rdata {
  /** Fixed bytes before the names ('' for none). */
  readonly pre: string;
  readonly names: readonly string[];
  /** Fixed bytes after the names ('' for none; only the SOA has some). */
  readonly post: string;
  /** The stored record's id (0 for the implicit SOA and NS): deletions find it, ANY orders by it. */
  readonly id: number;
  /** The record's own TTL (the RRset serves the lowest). */
  readonly ttl: number;
}

export interface RRset {
  /** Owner, absolute, lower case, no trailing dot. */
  name: string;
  type: number;
  ttl: number;
  rdata: Rdata[];
  /** Records whose RDATA repeats one in `rdata` (served once, RFC 2181 5); kept so deletions stay exact. */
  hidden: Rdata[] | null;
  /** The owner's next RRset: a name's RRsets are a short list, in the order they appeared. */
  next: RRset | null;
}

/** A name of the zone: its first RRset (the others follow `next`), or null for an empty non-terminal. */
export type Node = RRset | null;

/** The fields of a stored record the index uses (all the loader reads). */
export type IndexRecord = Pick<StoredRecord, 'id' | 'name' | 'type' | 'value' | 'ttl' | 'priority'>;

/** What an index is built from: a store snapshot, or records streamed from SQLite (src/dns/loader.ts). */
export interface ZoneSource {
  id: number;
  domain: string;
  serial: number;
  records: Iterable<IndexRecord>;
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

const chr = String.fromCharCode;
const NO_NAMES: readonly string[] = Object.freeze([]);
const NO_CUTS: ReadonlySet<string> = new Set();

function rd(pre: string, names: readonly string[], post: string, id: number, ttl: number): Rdata {
  return { pre, names, post, id, ttl };
}

/** Every RRset is made here, so they all share one shape. */
export function newRRset(name: string, type: number, ttl: number, rdata: Rdata[], next: RRset | null): RRset {
  return { name, type, ttl, rdata, hidden: null, next };
}

/** The RRset of `type` in a name's list, if any. */
export function rrsetOf(node: Node, type: number): RRset | undefined {
  for (let s = node; s !== null; s = s.next) if (s.type === type) return s;
  return undefined;
}

const ipv4 = [0, 0, 0, 0];
function ipv4Bytes(text: string): string {
  // Stored A values are canonical dotted quads.
  let part = 0;
  let v = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2e) {
      ipv4[part++] = v;
      v = 0;
    } else v = v * 10 + c - 0x30;
  }
  ipv4[part] = v;
  return chr(ipv4[0], ipv4[1], ipv4[2], ipv4[3]);
}

const ipv6 = new Array<number>(16).fill(0);
function ipv6Bytes(text: string): string {
  // Stored AAAA values are canonical RFC 5952 text without an IPv4 tail.
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  for (let i = 0; i < 8; i++) {
    const g = Number.parseInt(groups[i], 16);
    ipv6[i * 2] = g >> 8;
    ipv6[i * 2 + 1] = g & 255;
  }
  return chr(...ipv6);
}

/** Pre-encode a stored record's RDATA. */
export function recordRdata(type: RecordType, value: string, priority: number | null, id = 0, ttl = 0): Rdata {
  const host = value === '.' ? '' : value;
  switch (type) {
    case 'A':
      return rd(ipv4Bytes(value), NO_NAMES, '', id, ttl);
    case 'AAAA':
      return rd(ipv6Bytes(value), NO_NAMES, '', id, ttl);
    case 'CNAME':
    case 'NS':
      return rd('', [host], '', id, ttl);
    case 'MX': {
      const p = priority ?? 0;
      return rd(chr(p >> 8, p & 255), [host], '', id, ttl);
    }
    case 'SRV': {
      const [weight, port, target] = value.split(' ');
      const p = priority ?? 0;
      const w = Number(weight);
      const o = Number(port);
      return rd(chr(p >> 8, p & 255, w >> 8, w & 255, o >> 8, o & 255), [target === '.' ? '' : target], '', id, ttl);
    }
    case 'TXT': {
      const strings = toPacketData('TXT', value, null) as Buffer[];
      // Through a Buffer so the string is flat (no rope of small pieces kept in the index).
      const bytes = Buffer.concat(strings.flatMap((s) => [Buffer.from([s.length]), s]));
      return rd(bytes.toString('latin1'), NO_NAMES, '', id, ttl);
    }
    case 'CAA': {
      const c = toPacketData('CAA', value, null) as { flags: number; tag: string; value: string };
      const tag = Buffer.from(c.tag, 'ascii');
      const bytes = Buffer.concat([Buffer.from([c.flags, tag.length]), tag, Buffer.from(c.value, 'utf8')]);
      return rd(bytes.toString('latin1'), NO_NAMES, '', id, ttl);
    }
  }
}

/** The SOA's fixed bytes after its names: serial, refresh, retry, expire, minimum. */
export function soaTail(defaults: ZoneDefaults, serial: number): string {
  const b = Buffer.allocUnsafe(20);
  b.writeUInt32BE(serial >>> 0, 0);
  b.writeUInt32BE(defaults.soaRefresh, 4);
  b.writeUInt32BE(defaults.soaRetry, 8);
  b.writeUInt32BE(defaults.soaExpire, 12);
  b.writeUInt32BE(defaults.soaMinimum, 16);
  return b.toString('latin1');
}

/** What every zone with the same defaults shares: the implicit NS RDATA and the SOA's names. */
interface Implicit {
  ns: readonly Rdata[];
  soaNames: readonly string[];
}
const implicitOf = new WeakMap<ZoneDefaults, Implicit>();

function implicit(defaults: ZoneDefaults): Implicit {
  let i = implicitOf.get(defaults);
  if (!i) {
    i = {
      ns: defaults.nameservers.map((ns) => recordRdata('NS', ns, null, 0, defaults.soaTtl)),
      soaNames: [defaults.nameservers[0], defaults.hostmaster],
    };
    implicitOf.set(defaults, i);
  }
  return i;
}

function soaRdata(defaults: ZoneDefaults, serial: number): Rdata {
  return rd('', implicit(defaults).soaNames, soaTail(defaults, serial), 0, defaults.soaTtl);
}

/** Insert keeping record id order (as a rebuild reads them), so a patched index answers byte for byte alike. */
function insertById(list: Rdata[], rdata: Rdata): void {
  let at = list.length;
  while (at > 0 && list[at - 1].id > rdata.id) at--;
  list.splice(at, 0, rdata);
}

function sameRdata(a: Rdata, b: Rdata): boolean {
  if (a.pre !== b.pre || a.post !== b.post || a.names.length !== b.names.length) return false;
  for (let i = 0; i < a.names.length; i++) if (a.names[i] !== b.names[i]) return false;
  return true;
}

export class ZoneIndex {
  readonly id: number;
  readonly domain: string;
  serial: number;
  readonly labelCount: number;
  /** Every name of the zone (empty non-terminals included) -> its RRsets. */
  readonly nodes = new Map<string, Node>();
  /** Owners of non-apex NS RRsets (one shared empty set while the zone has none). */
  cuts: ReadonlySet<string> = NO_CUTS;
  readonly soa: RRset;
  /** The SOA as negative answers carry it: TTL = min(SOA TTL, SOA minimum) (RFC 2308 3). Shares the SOA's rdata. */
  readonly negativeSoa: RRset;
  /**
   * How many names are directly below a non-apex name, for the names that have some (made with the
   * first): a non-apex name with neither RRsets nor names below it is removed. Most names are leaves
   * or right below the apex (which stays), so most zones need no entry at all.
   */
  private children: Map<string, number> | null = null;
  private readonly defaults: ZoneDefaults;

  constructor(source: ZoneSource, defaults: ZoneDefaults) {
    this.id = source.id;
    this.domain = source.domain;
    this.serial = source.serial;
    this.defaults = defaults;
    let labels = 1;
    for (let i = 0; i < this.domain.length; i++) if (this.domain.charCodeAt(i) === 0x2e) labels++;
    this.labelCount = labels;
    const ns = newRRset(this.domain, TYPE.NS, defaults.soaTtl, [...implicit(defaults).ns], null);
    this.soa = newRRset(this.domain, TYPE.SOA, defaults.soaTtl, [soaRdata(defaults, source.serial)], ns);
    this.negativeSoa = newRRset(
      this.domain,
      TYPE.SOA,
      Math.min(defaults.soaTtl, defaults.soaMinimum),
      this.soa.rdata,
      null,
    );
    this.nodes.set(this.domain, this.soa);
    for (const r of source.records) this.add(r);
  }

  /**
   * Patch a committed change in: the records deleted (as they were) and added (with their ids).
   * Returns false when a deleted record is not in the index (the index and the change disagree); the
   * index is then half-changed and must be replaced by a rebuild before the next query.
   */
  apply(serial: number, deleted: readonly IndexRecord[], added: readonly IndexRecord[]): boolean {
    for (const r of deleted) if (!this.remove(r)) return false;
    for (const r of added) this.add(r);
    this.serial = serial;
    // negativeSoa shares this array, so both carry the new serial.
    this.soa.rdata[0] = soaRdata(this.defaults, serial);
    return true;
  }

  /** At or below a zone cut: not authoritative, only glue. `name` is inside the zone. */
  occluded(name: string): boolean {
    if (this.cuts.size === 0) return false;
    for (let n = name; n.length > this.domain.length; n = n.slice(n.indexOf('.') + 1)) {
      if (this.cuts.has(n)) return true;
    }
    return false;
  }

  /** Add one record. */
  private add(r: IndexRecord): void {
    const owner = toFqdn(r.name, this.domain);
    const type = RR_TYPE_CODES[r.type];
    const rdata = recordRdata(r.type, r.value, r.priority, r.id, r.ttl);
    let node = this.nodes.get(owner);
    if (node === undefined) {
      this.createNode(owner);
      node = null;
    }
    let last: RRset | null = null;
    for (let s = node; s !== null; s = s.next) {
      if (s.type === type) {
        addTo(s, rdata);
        return;
      }
      last = s;
    }
    const rrset = newRRset(owner, type, r.ttl, [rdata], null);
    if (last) last.next = rrset;
    else this.nodes.set(owner, rrset);
    if (type === TYPE.NS && owner !== this.domain) {
      if (this.cuts === NO_CUTS) this.cuts = new Set();
      (this.cuts as Set<string>).add(owner);
    }
  }

  /** Remove one record (found by id); false when it is not in the index. */
  private remove(r: IndexRecord): boolean {
    const owner = toFqdn(r.name, this.domain);
    const type = RR_TYPE_CODES[r.type];
    let prev: RRset | null = null;
    let rrset = this.nodes.get(owner) ?? null;
    while (rrset !== null && rrset.type !== type) {
      prev = rrset;
      rrset = rrset.next;
    }
    if (!rrset) return false;
    const i = rrset.rdata.findIndex((d) => d.id === r.id);
    const hidden = rrset.hidden;
    const h = i < 0 && hidden ? hidden.findIndex((d) => d.id === r.id) : -1;
    if (i < 0 && h < 0) return false;
    if (h >= 0) hidden!.splice(h, 1);
    else {
      const [gone] = rrset.rdata.splice(i, 1);
      // A hidden duplicate of the removed RDATA is served from now on (the oldest one).
      let next = -1;
      hidden?.forEach((d, k) => {
        if (sameRdata(d, gone) && (next < 0 || d.id < hidden[next].id)) next = k;
      });
      if (next >= 0) insertById(rrset.rdata, hidden!.splice(next, 1)[0]);
    }
    if (rrset.hidden?.length === 0) rrset.hidden = null;
    if (rrset.rdata.length > 0) {
      let ttl = rrset.rdata[0].ttl;
      for (const d of rrset.rdata) if (d.ttl < ttl) ttl = d.ttl;
      if (rrset.hidden) for (const d of rrset.hidden) if (d.ttl < ttl) ttl = d.ttl;
      rrset.ttl = ttl;
      return true;
    }
    if (prev) prev.next = rrset.next;
    else this.nodes.set(owner, rrset.next);
    if (type === TYPE.NS && owner !== this.domain) (this.cuts as Set<string>).delete(owner);
    // Names left with neither records nor names below them disappear, up to the first that stays.
    let name = owner;
    while (name !== this.domain && this.nodes.get(name) === null && !this.children?.has(name)) {
      this.nodes.delete(name);
      name = name.slice(name.indexOf('.') + 1);
      if (name === this.domain) break;
      const below = this.children!.get(name)! - 1;
      if (below === 0) this.children!.delete(name);
      else this.children!.set(name, below);
    }
    return true;
  }

  /** Make `name` a name of the zone (without RRsets yet), with its missing ancestors (empty non-terminals). */
  private createNode(name: string): void {
    this.nodes.set(name, null);
    const dot = name.indexOf('.');
    // Right below the apex (the parent is the zone's name): the apex stays, nobody counts below it.
    if (name.length - dot - 1 === this.domain.length) return;
    const parent = name.slice(dot + 1);
    this.children ??= new Map();
    const below = this.children.get(parent);
    if (below !== undefined) this.children.set(parent, below + 1);
    else {
      if (!this.nodes.has(parent)) this.createNode(parent);
      this.children.set(parent, 1);
    }
  }
}

/** Add a record to an existing RRset. */
function addTo(rrset: RRset, rdata: Rdata): void {
  // RFC 2181 5.2: one TTL per RRset; where records disagree, the lowest wins.
  if (rdata.ttl < rrset.ttl) rrset.ttl = rdata.ttl;
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
