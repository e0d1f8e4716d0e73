// Parse BIND9 zone file text (RFC 1035 section 5 master files, as BIND writes and reads them) into the
// records vpsdns stores. Every record goes through validateRecord, the API's own rules. Problems are
// collected for the whole file, each with its line number, so a caller can reject the file as a whole.
//
// Understood: $ORIGIN, $TTL, relative/absolute names, "@", omitted owner (previous one), omitted TTL
// and class in either order, TTL units (1w2d3h4m5s), parentheses across lines, ";" comments, quoted
// strings with \" \\ \DDD escapes. Refused with an error: $INCLUDE, $GENERATE, classes other than IN,
// record types vpsdns does not host. Skipped: the SOA and the apex NS records (both are implicit).
import { ApiError } from '../model/errors.js';
import { RECORD_TYPES } from '../model/rdata.js';
import { type RecordData, type RecordInput, validateRecord } from '../model/record.js';

export interface LineError {
  line: number;
  detail: string;
}

export interface ParsedRecord extends RecordData {
  /** Line of the file where this record starts. */
  line: number;
}

export interface ParseResult {
  records: ParsedRecord[];
  /** SOA and apex NS records found in the file and skipped because vpsdns generates them. */
  ignored: number;
  errors: LineError[];
}

export interface ParseOptions {
  minTtl: number;
  /** Called every few thousand records while validating, and once at the end. */
  onProgress?: (done: number, total: number) => void;
}

/** At most this many errors are kept (the count in the message is always the full one). */
export const MAX_REPORTED_ERRORS = 1000;

/** The 400 a rejected zone file gets: `detail` sums up, `errors` lists every problem with its line. */
export class ZoneFileError extends ApiError {
  constructor(
    readonly errors: LineError[],
    readonly total: number = errors.length,
  ) {
    const shown = errors
      .slice(0, 3)
      .map((e) => `line ${e.line}: ${e.detail}`)
      .join('; ');
    super(
      400,
      'validation_error',
      `The zone file has ${total} error${total === 1 ? '' : 's'}, nothing was imported: ${shown}${total > 3 ? '; …' : ''}`,
      null,
    );
    this.name = 'ZoneFileError';
  }

  override toBody(): { detail: string; error_code: string; field: string | null; errors: LineError[] } {
    return { ...super.toBody(), errors: this.errors };
  }
}

// ---------------------------------------------------------------- lexer

interface Token {
  /** Unquoted: the raw text with escapes still in it. Quoted: the text between the quotes, escapes in it. */
  raw: string;
  quoted: boolean;
}

interface Entry {
  line: number;
  /** The line started with blank space: the owner is the previous record's. */
  ownerOmitted: boolean;
  tokens: Token[];
}

const isBlank = (c: string) => c === ' ' || c === '\t' || c === '\r';

/** Split the text into entries (one directive or record each, parentheses joined), reporting lexical errors. */
function lex(text: string, errors: LineError[]): Entry[] {
  const entries: Entry[] = [];
  let line = 1;
  let depth = 0;
  let cur: Entry | null = null;
  let bad = false; // the current entry had a lexical error: drop it
  let lineStartBlank = false;
  let atLineStart = true;
  const n = text.length;
  let i = 0;
  const finish = () => {
    if (cur && !bad && cur.tokens.length > 0) entries.push(cur);
    cur = null;
    bad = false;
  };
  const push = (tok: Token) => {
    if (!cur) cur = { line, ownerOmitted: lineStartBlank, tokens: [] };
    cur.tokens.push(tok);
  };
  while (i < n) {
    const c = text[i];
    if (atLineStart) {
      atLineStart = false;
      if (depth === 0) lineStartBlank = isBlank(c);
    }
    if (c === '\n') {
      line++;
      atLineStart = true;
      if (depth === 0) finish();
      i++;
    } else if (isBlank(c)) {
      i++;
    } else if (c === ';') {
      while (i < n && text[i] !== '\n') i++;
    } else if (c === '(') {
      if (!cur) cur = { line, ownerOmitted: lineStartBlank, tokens: [] };
      depth++;
      i++;
    } else if (c === ')') {
      if (depth === 0) {
        errors.push({ line, detail: 'closing parenthesis without an opening one' });
        bad = true;
      } else depth--;
      i++;
    } else if (c === '"') {
      let j = i + 1;
      while (j < n && text[j] !== '"' && text[j] !== '\n') j += text[j] === '\\' && text[j + 1] !== '\n' ? 2 : 1;
      if (j >= n || text[j] !== '"') {
        errors.push({ line, detail: 'quoted string is not closed on its line' });
        bad = true;
        i = j;
      } else {
        push({ raw: text.slice(i + 1, j), quoted: true });
        i = j + 1;
      }
    } else {
      let j = i;
      while (j < n) {
        const d = text[j];
        if (d === '\\' && j + 1 < n && text[j + 1] !== '\n') j += 2;
        else if (isBlank(d) || d === '\n' || d === ';' || d === '(' || d === ')' || d === '"') break;
        else j++;
      }
      push({ raw: text.slice(i, j), quoted: false });
      i = j;
    }
  }
  if (depth > 0 && cur) {
    errors.push({ line: (cur as Entry).line, detail: 'parenthesis opened here is never closed' });
    bad = true;
  }
  finish();
  return entries;
}

/** The bytes a token stands for: \DDD is one byte, \X is X, other characters are their UTF-8. */
function tokenBytes(raw: string): Buffer {
  if (!raw.includes('\\')) return Buffer.from(raw, 'utf8');
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] !== '\\') continue;
    out.push(Buffer.from(raw.slice(start, i), 'utf8'));
    const ddd = raw.slice(i + 1, i + 4);
    if (/^[0-9]{3}$/.test(ddd)) {
      const v = Number(ddd);
      if (v > 255) throw new Error(`escape \\${ddd} is not a byte (000 to 255)`);
      out.push(Buffer.from([v]));
      i += 3;
    } else if (i + 1 < raw.length) {
      out.push(Buffer.from(raw[i + 1], 'utf8'));
      i += 1;
    }
    start = i + 1;
  }
  out.push(Buffer.from(raw.slice(start), 'utf8'));
  return Buffer.concat(out);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function tokenText(tok: Token, what: string): string {
  const bytes = tokenBytes(tok.raw);
  try {
    return utf8.decode(bytes);
  } catch {
    throw new Error(`${what} contains bytes that are not UTF-8 text`);
  }
}

// ---------------------------------------------------------------- fields

const TTL_UNITS: Record<string, number> = { w: 604800, d: 86400, h: 3600, m: 60, s: 1 };
const TTL_RE = /^([0-9]+|([0-9]+[wdhms])+)$/i;

function isTtl(raw: string): boolean {
  return TTL_RE.test(raw);
}

function parseTtl(raw: string): number {
  if (!isTtl(raw)) throw new Error(`"${raw}" is not a TTL`);
  if (/^[0-9]+$/.test(raw)) return Number(raw);
  let total = 0;
  for (const m of raw.toLowerCase().matchAll(/([0-9]+)([wdhms])/g)) total += Number(m[1]) * TTL_UNITS[m[2]];
  return total;
}

const CLASSES = new Set(['IN', 'CH', 'CS', 'HS']);
const isClass = (raw: string) => CLASSES.has(raw.toUpperCase()) || /^CLASS[0-9]+$/i.test(raw);

/** An owner or RDATA name made absolute (with the trailing dot) against `origin` (which has it). */
function absolute(tok: Token, origin: string): string {
  if (tok.quoted) throw new Error(`a name cannot be quoted ("${tok.raw}")`);
  const raw = tok.raw;
  if (raw.includes('\\')) throw new Error(`escaped characters in names are not supported ("${raw}")`);
  if (raw === '@') return origin;
  if (raw.endsWith('.')) return raw;
  return origin === '.' ? `${raw}.` : `${raw}.${origin}`;
}

function uint16(raw: string, what: string): number {
  if (!/^[0-9]+$/.test(raw) || Number(raw) > 65535)
    throw new Error(`${what} "${raw}" must be a number from 0 to 65535`);
  return Number(raw);
}

const SUPPORTED = new Set<string>(RECORD_TYPES);
const ARITY: Record<string, number> = { A: 1, AAAA: 1, CNAME: 1, NS: 1, MX: 2, SRV: 4, CAA: 3, SOA: 7 };

function caaQuote(text: string): string {
  return `"${text.replace(/(["\\])/g, '\\$1')}"`;
}

// ---------------------------------------------------------------- parser

/**
 * Parse `text` as a zone file for `zone` (normalised domain, no trailing dot). Never throws for bad input:
 * problems come back in `errors`, records that passed in `records` (already validated and normalised).
 */
export function parseZoneText(text: string, zone: string, opts: ParseOptions): ParseResult {
  const errors: LineError[] = [];
  const entries = lex(text.startsWith('\ufeff') ? text.slice(1) : text, errors);
  const records: ParsedRecord[] = [];
  const apex = `${zone}.`;
  let origin = apex;
  let defaultTtl: number | undefined; // $TTL
  let lastTtl: number | undefined; // last explicit TTL (RFC 1035 rule when there is no $TTL)
  let soaMinimum: number | undefined; // BIND's fallback when neither is there
  let lastOwner: string | null = null;
  let ignored = 0;
  const total = entries.length;
  const progressEvery = 5000;

  for (let k = 0; k < entries.length; k++) {
    const entry = entries[k];
    if (opts.onProgress && k % progressEvery === 0 && k > 0) opts.onProgress(k, total);
    const { tokens } = entry;
    try {
      const first = tokens[0];
      if (!entry.ownerOmitted && !first.quoted && first.raw.startsWith('$')) {
        const directive = first.raw.toUpperCase();
        if (directive === '$ORIGIN') {
          if (tokens.length !== 2) throw new Error('$ORIGIN needs exactly one name');
          origin = absolute(tokens[1], origin).toLowerCase();
        } else if (directive === '$TTL') {
          if (tokens.length !== 2) throw new Error('$TTL needs exactly one TTL');
          defaultTtl = parseTtl(tokens[1].raw);
        } else if (directive === '$INCLUDE') {
          throw new Error('$INCLUDE is not supported: put the included records into the file itself');
        } else if (directive === '$GENERATE') {
          throw new Error('$GENERATE is not supported: list the generated records one by one');
        } else {
          throw new Error(`unknown directive ${first.raw}`);
        }
        continue;
      }
      let idx = 0;
      let owner: string;
      if (entry.ownerOmitted) {
        if (lastOwner === null) throw new Error('the first record has no owner name (the line starts with a blank)');
        owner = lastOwner;
      } else {
        owner = absolute(first, origin).toLowerCase();
        lastOwner = owner;
        idx = 1;
      }
      let ttl: number | undefined;
      let cls: string | undefined;
      for (let t = 0; t < 2 && idx < tokens.length && !tokens[idx].quoted; t++) {
        const raw = tokens[idx].raw;
        if (ttl === undefined && isTtl(raw)) ttl = parseTtl(raw);
        else if (cls === undefined && isClass(raw)) cls = raw.toUpperCase();
        else break;
        idx++;
      }
      if (idx >= tokens.length) throw new Error('record type is missing');
      const type = tokens[idx].raw.toUpperCase();
      const rdata = tokens.slice(idx + 1);
      if (cls !== undefined && cls !== 'IN') throw new Error(`class ${cls} is not supported (only IN)`);
      if (ttl !== undefined) lastTtl = ttl;
      const arity = ARITY[type];
      if (type === 'SOA') {
        if (owner !== apex) throw new Error(`an SOA record belongs at the zone apex ${apex}, not at ${owner}`);
        if (rdata.length !== arity) throw new Error(`SOA needs ${arity} fields, found ${rdata.length}`);
        soaMinimum = parseTtl(rdata[6].raw);
        ignored++;
        continue;
      }
      if (!SUPPORTED.has(type)) {
        throw new Error(`record type ${type} is not supported (vpsdns hosts ${RECORD_TYPES.join(', ')})`);
      }
      if (type === 'NS' && owner === apex) {
        ignored++;
        continue;
      }
      if (arity !== undefined && rdata.length !== arity) {
        throw new Error(`${type} needs ${arity} field${arity === 1 ? '' : 's'} after the type, found ${rdata.length}`);
      }
      if (type === 'TXT' && rdata.length === 0) throw new Error('TXT needs at least one string');
      const input: RecordInput = {
        record_type: type,
        name: owner,
        ttl: ttl ?? defaultTtl ?? lastTtl ?? soaMinimum,
        priority: null,
      };
      switch (type) {
        case 'A':
        case 'AAAA':
          input.value = rdata[0].raw;
          break;
        case 'CNAME':
        case 'NS':
          input.value = absolute(rdata[0], origin);
          break;
        case 'MX':
          input.priority = uint16(rdata[0].raw, 'MX preference');
          input.value = absolute(rdata[1], origin);
          break;
        case 'SRV':
          input.priority = uint16(rdata[0].raw, 'SRV priority');
          input.value = `${rdata[1].raw} ${rdata[2].raw} ${absolute(rdata[3], origin)}`;
          break;
        case 'CAA':
          input.value = `${rdata[0].raw} ${rdata[1].raw} ${caaQuote(tokenText(rdata[2], 'CAA value'))}`;
          break;
        case 'TXT': {
          const bytes = Buffer.concat(rdata.map((t) => tokenBytes(t.raw)));
          try {
            input.value = utf8.decode(bytes);
          } catch {
            throw new Error('TXT contains bytes that are not UTF-8 text');
          }
          break;
        }
      }
      const data = validateRecord(input, zone, opts.minTtl);
      records.push({ ...data, line: entry.line });
    } catch (err) {
      errors.push({ line: entry.line, detail: err instanceof ApiError ? err.detail : (err as Error).message });
    }
  }
  opts.onProgress?.(total, total);
  errors.sort((a, b) => a.line - b.line);
  return { records, ignored, errors };
}

function key(r: RecordData): string {
  return `${r.name}\u0000${r.type}\u0000${r.value}`;
}

/**
 * Rules that need the whole set (the store's checkConflicts, done here first so each problem has its line):
 * no two records with the same name, type and value; a CNAME shares its name with nothing else.
 * `existing` are the zone's current records when they stay (import without replace).
 */
export function findConflicts(records: ParsedRecord[], existing: RecordData[]): LineError[] {
  const errors: LineError[] = [];
  const seen = new Map<string, number>(); // key -> line (0 = already in the zone)
  const cname = new Map<string, number>(); // name -> line of its CNAME
  const other = new Map<string, { line: number; type: string }>(); // name -> first non-CNAME record
  for (const r of existing) {
    seen.set(key(r), 0);
    if (r.type === 'CNAME') cname.set(r.name, 0);
    else if (!other.has(r.name)) other.set(r.name, { line: 0, type: r.type });
  }
  const where = (line: number) => (line === 0 ? 'already in the zone' : `on line ${line}`);
  for (const r of records) {
    const k = key(r);
    const dup = seen.get(k);
    if (dup !== undefined) {
      errors.push({ line: r.line, detail: `duplicate ${r.type} record for ${r.name} (the same one is ${where(dup)})` });
      continue;
    }
    seen.set(k, r.line);
    if (r.type === 'CNAME') {
      const c = cname.get(r.name);
      const o = other.get(r.name);
      if (c !== undefined) {
        errors.push({ line: r.line, detail: `${r.name} has two CNAME records (the other is ${where(c)})` });
      } else if (o !== undefined) {
        errors.push({
          line: r.line,
          detail: `a CNAME cannot share the name ${r.name} with other records (${o.type} ${where(o.line)})`,
        });
      }
      if (c === undefined) cname.set(r.name, r.line);
    } else {
      const c = cname.get(r.name);
      if (c !== undefined) {
        errors.push({
          line: r.line,
          detail: `${r.name} has a CNAME record (${where(c)}); no other record can share its name`,
        });
      }
      if (!other.has(r.name)) other.set(r.name, { line: r.line, type: r.type });
    }
  }
  return errors;
}
