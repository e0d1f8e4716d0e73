// Parsing of the transfer options (--xfr-allow, --notify-allow, --notify, --tsig-key) and the access
// check they define. Pure functions: config.ts validates with them, the responder and sender use them.
import { BlockList, isIP, isIPv6 } from 'node:net';
import { type KeyRing, parseTsigKey, type TsigKey } from './tsig.js';

/** One `--xfr-allow` / `--notify-allow` entry: an address or CIDR, a TSIG key name, or both (`key@cidr`). */
export interface AclEntry {
  text: string;
  /** Network and prefix length, or null when any address will do. */
  net: { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | null;
  /** Key the request must be signed with, or null when unsigned requests will do. */
  key: string | null;
}

function parseNet(text: string): AclEntry['net'] {
  const [address, len] = text.split('/');
  const family = isIP(address);
  if (family === 0) return null;
  const max = family === 4 ? 32 : 128;
  const prefix = len === undefined ? max : /^[0-9]+$/.test(len) ? Number(len) : -1;
  if (prefix < 0 || prefix > max) throw new Error(`"${text}": prefix length must be 0 to ${max}`);
  return { address, prefix, family: family === 4 ? 'ipv4' : 'ipv6' };
}

export function parseAclEntry(text: string): AclEntry {
  const at = text.lastIndexOf('@');
  if (at > 0) {
    const key = text.slice(0, at).toLowerCase().replace(/^key:/, '');
    const net = parseNet(text.slice(at + 1));
    if (!net) throw new Error(`"${text}": after "@" comes an address or CIDR`);
    return { text, net, key };
  }
  const net = parseNet(text);
  if (net) return { text, net, key: null };
  if (text.includes('/') || isIP(text.split('/')[0]) !== 0) throw new Error(`"${text}" is not an address or CIDR`);
  const key = text.toLowerCase().replace(/^key:/, '');
  if (!/^[a-z0-9_.-]+$/.test(key)) throw new Error(`"${text}" is neither an address, a CIDR nor a TSIG key name`);
  return { text, net: null, key };
}

/** Who may do something: any entry matching is enough; an empty list allows nobody. */
export class Acl {
  private readonly rules: Array<{ nets: BlockList | null; key: string | null }>;

  constructor(readonly entries: AclEntry[]) {
    this.rules = entries.map((e) => {
      if (!e.net) return { nets: null, key: e.key };
      const nets = new BlockList();
      nets.addSubnet(e.net.address, e.net.prefix, e.net.family);
      return { nets, key: e.key };
    });
  }

  /** `key`: the name of the key the request was validly signed with, or null when unsigned. */
  allows(address: string, key: string | null): boolean {
    const addr = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
    const family = isIPv6(addr) ? 'ipv6' : 'ipv4';
    return this.rules.some((r) => (r.key === null || r.key === key) && (r.nets === null || r.nets.check(addr, family)));
  }
}

/** A `--notify` target: where NOTIFY goes, and the key it is signed with. */
export interface NotifyTarget {
  text: string;
  address: string;
  port: number;
  key: string | null;
}

/** `ADDR[:PORT][@KEY]`, `[IPv6]:PORT[@KEY]`, or a bare IPv6 address; the port defaults to 53. */
export function parseNotifyTarget(text: string): NotifyTarget {
  let rest = text;
  let key: string | null = null;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    key = rest.slice(at + 1).toLowerCase();
    rest = rest.slice(0, at);
    if (!key) throw new Error(`"${text}": a key name follows "@"`);
  }
  let address = rest;
  let port = 53;
  const bracket = rest.match(/^\[([^\]]+)\](?::([0-9]+))?$/);
  if (bracket) {
    address = bracket[1];
    if (bracket[2] !== undefined) port = Number(bracket[2]);
  } else if (isIP(rest) === 0 && rest.includes(':')) {
    const i = rest.lastIndexOf(':');
    address = rest.slice(0, i);
    port = /^[0-9]+$/.test(rest.slice(i + 1)) ? Number(rest.slice(i + 1)) : -1;
  }
  if (isIP(address) === 0)
    throw new Error(`"${text}": not an IP address (write ADDR:PORT, [IPv6]:PORT, @KEY optional)`);
  if (!(port >= 1 && port <= 65535)) throw new Error(`"${text}": the port must be 1 to 65535`);
  return { text, address, port, key };
}

export function keyRing(keys: TsigKey[]): KeyRing {
  return new Map(keys.map((k) => [k.name, k]));
}

export { parseTsigKey };
