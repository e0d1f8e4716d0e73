// Shared by the zone-file tests: a real Store on a temp SQLite file, SOA settings, named-checkzone.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import { normalizeZoneDomain } from '../../src/model/names.js';
import { Store, type ZoneRow } from '../../src/store/store.js';
import type { SoaSettings } from '../../src/zonefile/render.js';
import { SOA_DEFAULTS } from '../helpers/soa.js';

export const SOA: SoaSettings = SOA_DEFAULTS;

export const FIXTURES = join(import.meta.dirname, '../../fixtures/zonefile');

export function fixture(name: string): string {
  return readFileSync(join(FIXTURES, name), 'utf8');
}

export interface TempStore {
  dir: string;
  store: Store;
  accountId: number;
  zone(domain: string): ZoneRow;
  cleanup(): void;
}

export function tempStore(): TempStore {
  const dir = mkdtempSync(join(tmpdir(), 'vpsdns-zonefile-'));
  const store = new Store(join(dir, 'vpsdns.sqlite'));
  const account = store.auth.createAccount('test');
  return {
    dir,
    store,
    accountId: account.id,
    zone: (domain) => store.createZone(account.id, normalizeZoneDomain(domain)),
    cleanup: () => {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** named-checkzone with every check that does not need the network; returns exit status and output. */
export function checkzone(domain: string, file: string): { status: number | null; output: string } {
  const r = spawnSync('named-checkzone', ['-i', 'local', '-k', 'fail', '-n', 'fail', domain, file], {
    encoding: 'utf8',
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

/** A pino logger whose lines are kept in `lines` (parsed JSON). */
export function memoryLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l));
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

export async function waitFor<T>(fn: () => T | undefined | false, timeoutMs = 5000, stepMs = 20): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
