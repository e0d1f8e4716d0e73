// WAL checkpoints in a worker thread (src/store/checkpointer.ts): the server's connection never
// checkpoints itself, yet committed pages reach the database file soon after the writes.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Store } from '../../src/store/store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('background WAL checkpoints', () => {
  it('move committed pages into the database file off the request path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vpsdns-ckpt-'));
    dirs.push(dir);
    const path = join(dir, 'db.sqlite');
    const store = new Store(path);
    store.checkpointInBackground();
    expect(store.db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    const before = statSync(path).size;
    const account = store.auth.createAccount('a');
    const zone = store.createZone(account.id, 'example.com');
    for (let i = 0; i < 300; i++) {
      store.createRecord(zone, { type: 'TXT', name: `n${i}`, value: 'x'.repeat(200), ttl: 3600, priority: null });
    }
    // Only a checkpoint writes pages into the main file (commits go to the WAL).
    const deadline = Date.now() + 10_000;
    while (statSync(path).size === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(statSync(path).size).toBeGreaterThan(before);
    store.close();
  });
});
