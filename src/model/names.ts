// Domain names: normalisation (lower case, IDN to punycode, no trailing dot),
// syntax rules, and conversion between zone-relative and absolute names.
// Names inside vpsdns are always lower-case ASCII without the trailing dot;
// the apex is "@" when relative.
import { domainToASCII } from 'node:url';
import { ValidationError } from './errors.js';

export const MAX_NAME_LENGTH = 253;
export const MAX_LABEL_LENGTH = 63;

const LDH_LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
// Owner names and some targets may carry underscores (_sip._tcp, _dmarc, DKIM selectors).
const UNDERSCORE_LABEL = /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?$/;

/** Lower-case, strip one trailing dot, convert IDN labels to punycode. */
function toAsciiLower(input: string, field: string): string {
  let name = input.trim();
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (name === '') throw new ValidationError('Name must not be empty', field);
  if (/[^\x21-\x7e]/.test(name)) {
    // Non-ASCII: IDN. domainToASCII applies UTS #46 and returns '' when invalid.
    if (/\s/.test(name)) throw new ValidationError(`Invalid name "${input}": whitespace is not allowed`, field);
    const ascii = domainToASCII(name);
    if (ascii === '') throw new ValidationError(`Invalid internationalised name "${input}"`, field);
    name = ascii;
  }
  return name.toLowerCase();
}

function checkLabels(name: string, labelRule: RegExp, what: string, field: string, allowWildcard: boolean): void {
  if (name.length > MAX_NAME_LENGTH) {
    throw new ValidationError(`${what} "${name}" is longer than ${MAX_NAME_LENGTH} characters`, field);
  }
  const labels = name.split('.');
  labels.forEach((label, i) => {
    if (label === '') throw new ValidationError(`${what} "${name}" has an empty label`, field);
    if (label.length > MAX_LABEL_LENGTH) {
      throw new ValidationError(`${what} "${name}" has a label longer than ${MAX_LABEL_LENGTH} characters`, field);
    }
    if (label === '*') {
      if (allowWildcard && i === 0) return;
      throw new ValidationError(`${what} "${name}": "*" is only allowed as the leftmost label`, field);
    }
    if (!labelRule.test(label)) {
      throw new ValidationError(
        `${what} "${name}" has an invalid label "${label}" (letters, digits and hyphens; no hyphen at either end)`,
        field,
      );
    }
  });
}

/** A zone's domain as a customer gives it: returns the stored form or throws a 400 on `domain`. */
export function normalizeZoneDomain(input: unknown): string {
  const field = 'domain';
  if (typeof input !== 'string') throw new ValidationError('domain must be a string', field);
  const name = toAsciiLower(input, field);
  checkLabels(name, LDH_LABEL, 'Domain', field, false);
  const labels = name.split('.');
  if (labels.length < 2)
    throw new ValidationError(`"${name}" is a top-level domain; a zone needs at least two labels`, field);
  if (/^[0-9]+$/.test(labels[labels.length - 1])) {
    throw new ValidationError(`"${name}" is not a valid domain: the top-level label cannot be numeric`, field);
  }
  return name;
}

/**
 * A hostname value (CNAME, MX, NS, SRV target): an absolute name, stored without the trailing dot.
 * `allowUnderscore` for CNAME targets (DKIM and similar), `allowRoot` for "." (null MX, "no service" SRV).
 */
export function normalizeHostname(
  input: string,
  field: string,
  opts: { allowUnderscore?: boolean; allowRoot?: boolean } = {},
): string {
  if (opts.allowRoot && input.trim() === '.') return '.';
  const name = toAsciiLower(input, field);
  checkLabels(name, opts.allowUnderscore ? UNDERSCORE_LABEL : LDH_LABEL, 'Hostname', field, false);
  if (!name.includes('.')) {
    throw new ValidationError(`Hostname "${name}" must be a fully qualified name such as "mail.example.com"`, field);
  }
  return name;
}

/** True when `name` is `zone` or below it (both normalised). */
export function isInZone(name: string, zone: string): boolean {
  return name === zone || name.endsWith(`.${zone}`);
}

/**
 * An owner name as the API receives it: "@" or "" for the apex, a relative name ("www", "_sip._tcp", "*"),
 * or an FQDN inside the zone (with or without trailing dot). Returns the relative form ("@" for the apex).
 * A name with a trailing dot outside the zone is a 400.
 */
export function normalizeOwnerName(input: unknown, zone: string): string {
  const field = 'name';
  if (typeof input !== 'string') throw new ValidationError('name must be a string', field);
  const trimmed = input.trim();
  if (trimmed === '@' || trimmed === '' || trimmed === '.') {
    if (trimmed === '.') throw new ValidationError('"." is the root, not a name in this zone', field);
    return '@';
  }
  const absolute = trimmed.endsWith('.');
  const name = toAsciiLower(trimmed, field);
  let relative: string;
  if (name === zone) {
    relative = '@';
  } else if (name.endsWith(`.${zone}`)) {
    relative = name.slice(0, -(zone.length + 1));
  } else if (absolute) {
    throw new ValidationError(`Name "${input}" is outside the zone ${zone}`, field);
  } else {
    relative = name;
  }
  const fqdn = relative === '@' ? zone : `${relative}.${zone}`;
  checkLabels(fqdn, UNDERSCORE_LABEL, 'Name', field, true);
  return relative;
}

/** Relative owner name ("@", "www") to the absolute name, without trailing dot. */
export function toFqdn(relative: string, zone: string): string {
  return relative === '@' ? zone : `${relative}.${zone}`;
}
