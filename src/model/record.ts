// A whole record as the API receives it: field presence, types and per-type rules.
// Rules that need the rest of the zone (CNAME exclusivity, duplicates) live in the store's transaction.
import { ValidationError } from './errors.js';
import { normalizeOwnerName } from './names.js';
import {
  isRecordType,
  normalizePriority,
  normalizeTtl,
  normalizeValue,
  RECORD_TYPES,
  type RecordType,
} from './rdata.js';

export interface RecordData {
  type: RecordType;
  /** Relative to the zone, "@" for the apex, lower case. */
  name: string;
  value: string;
  ttl: number;
  priority: number | null;
}

export interface RecordInput {
  record_type?: unknown;
  name?: unknown;
  value?: unknown;
  ttl?: unknown;
  priority?: unknown;
}

function requireField(input: RecordInput, field: keyof RecordInput): void {
  if (input[field] === undefined) throw new ValidationError(`${field} is required`, field);
}

/** Validate a full record (POST, PUT). */
export function validateRecord(input: RecordInput, zone: string, minTtl: number): RecordData {
  requireField(input, 'record_type');
  requireField(input, 'name');
  requireField(input, 'value');
  const rawType = typeof input.record_type === 'string' ? input.record_type.toUpperCase() : input.record_type;
  if (!isRecordType(rawType)) {
    throw new ValidationError(`record_type must be one of ${RECORD_TYPES.join(', ')}`, 'record_type');
  }
  const type = rawType;
  const name = normalizeOwnerName(input.name, zone);
  const value = normalizeValue(type, input.value);
  const ttl = normalizeTtl(input.ttl, minTtl);
  const priority = normalizePriority(type, input.priority);
  if (type === 'CNAME' && name === '@') {
    throw new ValidationError('A CNAME record cannot be at the zone apex (@)', 'name');
  }
  if (name.startsWith('*') && type === 'NS') {
    throw new ValidationError('NS records cannot be at a wildcard name', 'name');
  }
  if (type === 'NS' && value === '.') throw new ValidationError('NS value must be a hostname', 'value');
  return { type, name, value, ttl, priority };
}

/** Apply a PATCH (only the given fields) onto a stored record and validate the result as a whole. */
export function mergePatch(current: RecordData, patch: RecordInput): RecordInput {
  const merged: RecordInput = {
    record_type: current.type,
    name: current.name,
    value: current.value,
    ttl: current.ttl,
    priority: current.priority,
  };
  for (const key of ['record_type', 'name', 'value', 'ttl', 'priority'] as const) {
    if (key in patch && patch[key] !== undefined) merged[key] = patch[key];
  }
  // Changing the type away from MX/SRV drops a priority the caller did not mention.
  if ('record_type' in patch && !('priority' in patch)) {
    const t = typeof merged.record_type === 'string' ? merged.record_type.toUpperCase() : '';
    if (t !== 'MX' && t !== 'SRV') merged.priority = null;
  }
  return merged;
}
