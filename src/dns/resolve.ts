// The authoritative lookup of RFC 1034 4.3.2 on one zone's index, with RFC 4592 wildcards,
// RFC 2308 negative answers, referrals at zone cuts, in-zone CNAME chains and RFC 8482 minimal ANY.
// Pure: (zone, name, type) -> sections of RRsets. Encoding and truncation are encode.ts's job.
import { isInZone } from '../model/names.js';
import { RCODE, TYPE } from './wire.js';
import { type Node, newRRset, type RRset, rrsetOf, type ZoneIndex } from './zone-index.js';

export interface Answer {
  rcode: number;
  /** Authoritative answer (false for a referral). */
  aa: boolean;
  answer: RRset[];
  authority: RRset[];
  additional: RRset[];
}

/** CNAME hops followed inside a zone before giving up (loop protection beyond the visited set). */
export const MAX_CNAME_CHAIN = 16;

type Lookup = { kind: 'node'; node: Node } | { kind: 'referral'; cut: string } | { kind: 'nxdomain' };

/** Find what answers `labels` (a name inside the zone). */
function lookup(zone: ZoneIndex, labels: string[], qtype: number): Lookup {
  const below = labels.length - zone.labelCount; // labels below the apex
  // Zone cuts on the way down from the apex, the highest first; DS at a cut belongs to the parent side.
  if (zone.cuts.size > 0) {
    let name = zone.domain;
    for (let i = below - 1; i >= 0; i--) {
      name = `${labels[i]}.${name}`;
      if (zone.cuts.has(name) && !(i === 0 && qtype === TYPE.DS)) return { kind: 'referral', cut: name };
    }
  }
  const qname = labels.join('.');
  const exact = zone.nodes.get(qname);
  if (exact !== undefined) return { kind: 'node', node: exact };
  // Closest encloser: the longest existing ancestor (empty non-terminals exist, RFC 4592 2.2.2).
  let encloser = qname;
  do {
    encloser = encloser.slice(encloser.indexOf('.') + 1);
  } while (encloser !== zone.domain && !zone.nodes.has(encloser));
  const wildcard = zone.nodes.get(`*.${encloser}`);
  if (wildcard !== undefined) return { kind: 'node', node: wildcard };
  return { kind: 'nxdomain' };
}

/** The name's first RRset: the SOA at the apex, else the RRset with the oldest record. */
function firstRRset(node: RRset): RRset {
  const soa = rrsetOf(node, TYPE.SOA);
  if (soa) return soa;
  let best: RRset | undefined;
  let bestId = Number.POSITIVE_INFINITY;
  for (let rrset: RRset | null = node; rrset !== null; rrset = rrset.next) {
    for (const d of rrset.rdata) {
      if (d.id < bestId) {
        bestId = d.id;
        best = rrset;
      }
    }
  }
  return best!;
}

function withOwner(rrset: RRset, owner: string): RRset {
  return rrset.name === owner ? rrset : newRRset(owner, rrset.type, rrset.ttl, rrset.rdata, null);
}

function addressesOf(zone: ZoneIndex, target: string, allowOccluded: boolean, out: RRset[], seen: Set<string>): void {
  if (target === '' || !isInZone(target, zone.domain) || seen.has(target)) return;
  seen.add(target);
  const node = zone.nodes.get(target);
  if (!node || (!allowOccluded && zone.occluded(target))) return;
  const a = rrsetOf(node, TYPE.A);
  const aaaa = rrsetOf(node, TYPE.AAAA);
  if (a) out.push(a);
  if (aaaa) out.push(aaaa);
}

/** Additional-section processing: A/AAAA of in-zone MX, SRV and NS targets. */
function additionalFor(zone: ZoneIndex, rrsets: RRset[], out: RRset[], seen: Set<string>): void {
  for (const rrset of rrsets) {
    if (rrset.type !== TYPE.MX && rrset.type !== TYPE.SRV && rrset.type !== TYPE.NS) continue;
    for (const rd of rrset.rdata) addressesOf(zone, rd.names[0], rrset.type === TYPE.NS, out, seen);
  }
}

function referral(zone: ZoneIndex, cut: string, ans: Answer): void {
  const ns = rrsetOf(zone.nodes.get(cut)!, TYPE.NS)!;
  ans.authority.push(ns);
  // Glue: addresses of in-zone NS targets, including those below the cut (occluded).
  additionalFor(zone, [ns], ans.additional, new Set());
}

/**
 * Answer `qtype` for the name given as labels (lower case, text form, inside `zone`).
 * `fullAny` gives every RRset for ANY; otherwise ANY gets one RRset (RFC 8482).
 */
export function resolve(zone: ZoneIndex, labels: string[], qtype: number, fullAny = false): Answer {
  const ans: Answer = { rcode: RCODE.NOERROR, aa: true, answer: [], authority: [], additional: [] };
  let owner = labels.join('.');
  let current = labels;
  const visited = new Set<string>([owner]);
  const seen = new Set<string>();
  for (let hop = 0; ; hop++) {
    const found = lookup(zone, current, qtype);
    if (found.kind === 'referral') {
      // At the query name: a plain referral. After a CNAME: the chain's answer plus the referral.
      if (hop === 0) ans.aa = false;
      referral(zone, found.cut, ans);
      return ans;
    }
    if (found.kind === 'nxdomain') {
      ans.rcode = RCODE.NXDOMAIN;
      ans.authority.push(zone.negativeSoa);
      return ans;
    }
    const { node } = found;
    if (qtype === TYPE.ANY) {
      if (node === null) {
        ans.authority.push(zone.negativeSoa);
      } else if (fullAny) {
        for (let rrset: RRset | null = node; rrset !== null; rrset = rrset.next)
          ans.answer.push(withOwner(rrset, owner));
      } else {
        // RFC 8482 4.1: one RRset, the name's first (the SOA at the apex, else the oldest record's), as NSD does.
        ans.answer.push(withOwner(firstRRset(node), owner));
      }
      return ans;
    }
    const cname = rrsetOf(node, TYPE.CNAME);
    if (cname && qtype !== TYPE.CNAME) {
      ans.answer.push(withOwner(cname, owner));
      const target = cname.rdata[0].names[0];
      // Follow only inside this zone, and never twice to the same name.
      if (!isInZone(target, zone.domain) || visited.has(target) || hop + 1 >= MAX_CNAME_CHAIN) return ans;
      visited.add(target);
      owner = target;
      current = target.split('.');
      continue;
    }
    const rrset = rrsetOf(node, qtype);
    if (rrset) {
      ans.answer.push(withOwner(rrset, owner));
      additionalFor(zone, [rrset], ans.additional, seen);
    } else {
      ans.authority.push(zone.negativeSoa);
    }
    return ans;
  }
}
