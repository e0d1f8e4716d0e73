// Record data rules per type: validate and normalise an API value, and turn a stored
// value into dns-packet's answer data (wire) or BIND9 presentation text (zone files).
import { isIPv4, isIPv6 } from 'node:net';
import { ValidationError } from './errors.js';
import { normalizeHostname } from './names.js';

export const RECORD_TYPES = ['A', 'AAAA', 'CNAME', 'MX', 'TXT', 'NS', 'SRV', 'CAA'] as const;
export type RecordType = (typeof RECORD_TYPES)[number];

export const CAA_TAGS = ['issue', 'issuewild', 'iodef', 'issuemail', 'issuevmc', 'contactemail', 'contactphone'];

/** The largest TTL RFC 2181 allows (2^31 - 1). */
export const MAX_TTL = 2147483647;
export const DEFAULT_TTL = 3600;
/** Longest TXT value we accept, in bytes (the wire carries it as 255-byte strings). */
export const MAX_TXT_BYTES = 4000;

export function isRecordType(t: unknown): t is RecordType {
  return typeof t === 'string' && (RECORD_TYPES as readonly string[]).includes(t);
}

export function needsPriority(type: RecordType): boolean {
  return type === 'MX' || type === 'SRV';
}

function parseUint(text: string, max: number, what: string, field: string): number {
  if (!/^[0-9]+$/.test(text)) throw new ValidationError(`${what} must be a whole number from 0 to ${max}`, field);
  const n = Number(text);
  if (n > max) throw new ValidationError(`${what} must be a whole number from 0 to ${max}`, field);
  return n;
}

/** RFC 5952 canonical text of an IPv6 address (lower case, longest zero run compressed). */
export function canonicalIPv6(address: string): string {
  let text = address.toLowerCase();
  const groups: number[] = [];
  // An embedded IPv4 tail (::ffff:192.0.2.1) becomes two groups.
  const v4 = text.match(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number);
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const headGroups = head ? head.split(':').map((g) => Number.parseInt(g, 16)) : [];
  const tailGroups = tail ? tail.split(':').map((g) => Number.parseInt(g, 16)) : [];
  groups.push(...headGroups);
  if (tail !== undefined) for (let i = headGroups.length + tailGroups.length; i < 8; i++) groups.push(0);
  groups.push(...tailGroups);
  return ipv6GroupsText(groups);
}

/** RFC 5952 text of eight 16-bit groups: lower-case hex, the longest run of two or more zero groups as "::". */
export function ipv6GroupsText(groups: number[]): string {
  // Longest run of two or more zero groups, first one on ties.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Split a CAA value `flags tag "value"` (the value may be unquoted). */
function parseCaa(value: string): { flags: number; tag: string; value: string } {
  const m = value.trim().match(/^(\S+)\s+(\S+)\s+(.*)$/s);
  if (!m) throw new ValidationError('CAA value must be `flags tag "value"`, e.g. `0 issue "letsencrypt.org"`', 'value');
  const flags = parseUint(m[1], 255, 'CAA flags', 'value');
  const tag = m[2].toLowerCase();
  if (!CAA_TAGS.includes(tag)) {
    throw new ValidationError(`CAA tag "${m[2]}" is not one of ${CAA_TAGS.join(', ')}`, 'value');
  }
  let text = m[3].trim();
  if (text.startsWith('"')) {
    if (text.length < 2 || !text.endsWith('"') || /(^|[^\\])"/.test(text.slice(1, -1))) {
      throw new ValidationError('CAA value has unbalanced quotes', 'value');
    }
    text = text.slice(1, -1).replace(/\\(["\\])/g, '$1');
  }
  if (/[^\x20-\x7e]/.test(text)) throw new ValidationError('CAA value must be printable ASCII', 'value');
  if (tag === 'iodef' && !/^(mailto:|https?:\/\/)\S+$/.test(text)) {
    throw new ValidationError('CAA iodef value must be a mailto:, http:// or https:// URL', 'value');
  }
  if ((tag === 'issue' || tag === 'issuewild') && text !== '' && !/^[a-z0-9.-]+(\s*;.*)?$/i.test(text)) {
    throw new ValidationError(`CAA ${tag} value must be a CA domain name (or empty), e.g. "letsencrypt.org"`, 'value');
  }
  return { flags, tag, value: text };
}

function caaText(c: { flags: number; tag: string; value: string }): string {
  return `${c.flags} ${c.tag} "${c.value.replace(/(["\\])/g, '\\$1')}"`;
}

function parseSrv(value: string): { weight: number; port: number; target: string } {
  const parts = value.trim().split(/\s+/);
  if (parts.length !== 3) {
    throw new ValidationError('SRV value must be `weight port target`, e.g. `5 5060 sip.example.com`', 'value');
  }
  return {
    weight: parseUint(parts[0], 65535, 'SRV weight', 'value'),
    port: parseUint(parts[1], 65535, 'SRV port', 'value'),
    target: normalizeHostname(parts[2], 'value', { allowRoot: true }),
  };
}

/** A TXT value as the customer means it: one surrounding pair of quotes is taken off. */
function normalizeTxt(value: string): string {
  let text = value;
  if (text.length >= 2 && text.startsWith('"') && text.endsWith('"') && !text.slice(1, -1).includes('"')) {
    text = text.slice(1, -1);
  }
  if (text === '') throw new ValidationError('TXT value must not be empty', 'value');
  // Printable: no control characters (tab allowed), any printable Unicode.
  if (/[\x00-\x08\x0a-\x1f\x7f]/.test(text)) {
    throw new ValidationError('TXT value must be printable text (no control characters or line breaks)', 'value');
  }
  if (Buffer.byteLength(text, 'utf8') > MAX_TXT_BYTES) {
    throw new ValidationError(`TXT value is longer than ${MAX_TXT_BYTES} bytes`, 'value');
  }
  return text;
}

/** Validate and normalise an API value for `type`; returns the stored form. Throws 400 on `value`. */
export function normalizeValue(type: RecordType, input: unknown): string {
  if (typeof input !== 'string') throw new ValidationError('value must be a string', 'value');
  const value = type === 'TXT' ? input : input.trim();
  if (value === '') throw new ValidationError('value must not be empty', 'value');
  switch (type) {
    case 'A':
      if (!isIPv4(value)) throw new ValidationError(`"${value}" is not a valid IPv4 address`, 'value');
      return value;
    case 'AAAA':
      if (!isIPv6(value) || value.includes('%')) {
        throw new ValidationError(`"${value}" is not a valid IPv6 address`, 'value');
      }
      return canonicalIPv6(value);
    case 'CNAME':
      return normalizeHostname(value, 'value', { allowUnderscore: true });
    case 'NS':
      return normalizeHostname(value, 'value');
    case 'MX':
      return normalizeHostname(value, 'value', { allowRoot: true });
    case 'SRV': {
      const srv = parseSrv(value);
      return `${srv.weight} ${srv.port} ${srv.target}`;
    }
    case 'CAA':
      return caaText(parseCaa(value));
    case 'TXT':
      return normalizeTxt(value);
  }
}

/** Validate `priority` for the type: required 0..65535 for MX/SRV, absent or null otherwise. */
export function normalizePriority(type: RecordType, input: unknown): number | null {
  if (!needsPriority(type)) {
    if (input === undefined || input === null) return null;
    throw new ValidationError(`${type} records do not take a priority; leave it out or null`, 'priority');
  }
  if (input === undefined || input === null) {
    throw new ValidationError(`${type} records require a priority value`, 'priority');
  }
  if (typeof input !== 'number' || !Number.isInteger(input) || input < 0 || input > 65535) {
    throw new ValidationError('priority must be a whole number from 0 to 65535', 'priority');
  }
  return input;
}

/** Validate a TTL: whole seconds from `minTtl` to 2^31-1 (RFC 2181). Absent means the default. */
export function normalizeTtl(input: unknown, minTtl: number): number {
  if (input === undefined || input === null) return Math.max(DEFAULT_TTL, minTtl);
  if (typeof input !== 'number' || !Number.isInteger(input)) {
    throw new ValidationError('ttl must be a whole number of seconds', 'ttl');
  }
  if (input < minTtl || input > MAX_TTL) {
    throw new ValidationError(`ttl must be between ${minTtl} and ${MAX_TTL} seconds`, 'ttl');
  }
  return input;
}

/** TXT text as character-strings of at most 255 bytes each (RFC 1035 3.3.14). */
export function splitTxt(text: string): Buffer[] {
  const bytes = Buffer.from(text, 'utf8');
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 255) chunks.push(bytes.subarray(i, i + 255));
  return chunks.length > 0 ? chunks : [Buffer.alloc(0)];
}

/** A stored record's data, in the shape dns-packet encodes. Hostnames are absolute, without dot ('' = root). */
export function toPacketData(type: RecordType, value: string, priority: number | null): unknown {
  const host = (name: string) => (name === '.' ? '.' : name);
  switch (type) {
    case 'A':
    case 'AAAA':
      return value;
    case 'CNAME':
    case 'NS':
      return host(value);
    case 'MX':
      return { preference: priority ?? 0, exchange: host(value) };
    case 'SRV': {
      const [weight, port, target] = value.split(' ');
      return { priority: priority ?? 0, weight: Number(weight), port: Number(port), target: host(target) };
    }
    case 'CAA': {
      const c = parseCaa(value);
      return { flags: c.flags, tag: c.tag, value: c.value, issuerCritical: (c.flags & 128) !== 0 };
    }
    case 'TXT':
      return splitTxt(value);
  }
}

/** Escape one TXT character-string for a zone file: quotes, backslashes, non-printable bytes as \DDD. */
function zoneQuote(bytes: Buffer): string {
  let out = '"';
  for (const b of bytes) {
    if (b === 0x22 || b === 0x5c) out += `\\${String.fromCharCode(b)}`;
    else if (b < 0x20 || b > 0x7e) out += `\\${b.toString().padStart(3, '0')}`;
    else out += String.fromCharCode(b);
  }
  return `${out}"`;
}

/** BIND9 presentation text of a stored record's RDATA (hostnames absolute, with the trailing dot). */
export function toZoneText(type: RecordType, value: string, priority: number | null): string {
  const abs = (name: string) => (name === '.' ? '.' : `${name}.`);
  switch (type) {
    case 'A':
    case 'AAAA':
      return value;
    case 'CNAME':
    case 'NS':
      return abs(value);
    case 'MX':
      return `${priority ?? 0} ${abs(value)}`;
    case 'SRV': {
      const [weight, port, target] = value.split(' ');
      return `${priority ?? 0} ${weight} ${port} ${abs(target)}`;
    }
    case 'CAA':
      return value;
    case 'TXT':
      return splitTxt(value).map(zoneQuote).join(' ');
  }
}
