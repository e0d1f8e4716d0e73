// ZoneFileWriter: files and named.conf.zones follow the store, atomically, debounced, with the hook.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import type { RecordData } from '../../src/model/record.js';
import { ZoneDirError, ZoneFileWriter, type ZoneFileWriterOptions } from '../../src/zonefile/deploy.js';
import { checkzone, memoryLogger, SOA, type TempStore, tempStore, waitFor } from './helpers.js';

const a = (name: string, ip: string): RecordData => ({ type: 'A', name, value: ip, ttl: 300, priority: null });

let t: TempStore;
let writer: ZoneFileWriter | null = null;
afterEach(async () => {
  await writer?.close();
  writer = null;
  t?.cleanup();
});

function newWriter(extra: Partial<ZoneFileWriterOptions> = {}) {
  const log = memoryLogger();
  writer = new ZoneFileWriter({
    store: t.store,
    soa: SOA,
    zoneDir: join(t.dir, 'zones'),
    confPath: join(t.dir, 'named.conf.zones'),
    logger: log.logger,
    ...extra,
  });
  return { writer, lines: log.lines };
}

const serialIn = (text: string) => Number(/serial (\d+)/.exec(text)?.[1]);
const read = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8') : '');

describe('ZoneFileWriter', () => {
  it('writes every zone and named.conf.zones on start, valid for named-checkzone and named-checkconf', async () => {
    t = tempStore();
    const z1 = t.zone('b.example');
    t.zone('a.example');
    t.store.importRecords(z1, [a('www', '192.0.2.1')], false);
    const { writer } = newWriter();
    await writer.start();
    const conf = readFileSync(join(t.dir, 'named.conf.zones'), 'utf8');
    const zoneDir = join(t.dir, 'zones');
    expect(conf.split('\n').filter((l) => l.startsWith('zone'))).toEqual([
      `zone "a.example" { type primary; file "${zoneDir}/a.example.zone"; };`,
      `zone "b.example" { type primary; file "${zoneDir}/b.example.zone"; };`,
    ]);
    for (const d of ['a.example', 'b.example']) {
      const res = checkzone(d, join(zoneDir, `${d}.zone`));
      expect(res.status, res.output).toBe(0);
    }
    expect(read(join(zoneDir, 'b.example.zone'))).toMatch(/^www +300 IN A +192\.0\.2\.1$/m);
    const cc = spawnSync('named-checkconf', ['-z', join(t.dir, 'named.conf.zones')], { encoding: 'utf8' });
    expect(cc.status, cc.stdout + cc.stderr).toBe(0);
  });

  it('rewrites only the changed zone, within a second, coalescing a burst', async () => {
    t = tempStore();
    const z1 = t.zone('one.example');
    t.zone('two.example');
    const { writer, lines } = newWriter({ debounceMs: 100, maxWaitMs: 400 });
    await writer.start();
    const twoBefore = read(writer.fileOf('two.example'));
    const written = () => lines.filter((l) => l.msg === 'zone file written').length;
    const before = written();
    // 30 changes over ~600 ms: the max wait forces intermediate writes, but far fewer than 30.
    for (let i = 0; i < 30; i++) {
      t.store.createRecord(z1, a(`h${i}`, `192.0.2.${i + 1}`));
      await new Promise((r) => setTimeout(r, 20));
    }
    const last = t.store.snapshot(z1.id)!.serial;
    const committedAt = Date.now();
    await waitFor(() => serialIn(read(writer.fileOf('one.example'))) === last, 2000, 10);
    expect(Date.now() - committedAt).toBeLessThan(1000);
    const writes = written() - before;
    expect(writes).toBeGreaterThanOrEqual(1);
    expect(writes).toBeLessThan(10);
    expect(read(writer.fileOf('two.example'))).toBe(twoBefore);
  });

  it('a reader polling the file during a burst of changes only ever sees whole files', async () => {
    t = tempStore();
    const zone = t.zone('burst.example');
    // A big zone makes each write take long enough for a torn read to be likely if writes were not atomic.
    t.store.importRecords(
      zone,
      Array.from({ length: 3000 }, (_, i) => a(`base${i}`, `10.0.${i >> 8}.${i & 255}`)),
      false,
    );
    const { writer } = newWriter({ debounceMs: 5, maxWaitMs: 10 });
    await writer.start();
    const file = writer.fileOf('burst.example');
    const serial0 = t.store.snapshot(zone.id)!.serial;
    // The reader runs in its own thread: it checks each read is whole (header, trailing newline,
    // and as many records as the serial in the header says: every change below adds one).
    const reader = new Worker(
      `
      const { parentPort, workerData } = require('node:worker_threads');
      const { readFileSync } = require('node:fs');
      let reads = 0, bad = [], stop = false;
      parentPort.on('message', () => { stop = true; });
      (function loop() {
        for (let k = 0; k < 50 && !stop; k++) {
          const text = readFileSync(workerData.file, 'utf8');
          reads++;
          const serial = Number(/serial (\\d+)/.exec(text)?.[1]);
          const records = text.split('\\n').filter((l) => / IN A /.test(l)).length;
          const ok = text.startsWith('; Zone burst.example') && text.endsWith('\\n') &&
            records === 3000 + (serial - workerData.serial0);
          if (!ok && bad.length < 3) bad.push(text.length + ' bytes, serial ' + serial + ', ' + records + ' records');
        }
        if (stop) parentPort.postMessage({ reads, bad }); else setImmediate(loop);
      })();
      `,
      { eval: true, workerData: { file, serial0 } },
    );
    for (let i = 0; i < 40; i++) {
      t.store.createRecord(zone, a(`new${i}`, `192.0.2.${i + 1}`));
      await new Promise((r) => setTimeout(r, 15));
    }
    await writer.flush();
    const result = await new Promise<{ reads: number; bad: string[] }>((resolve) => {
      reader.once('message', resolve);
      reader.postMessage('stop');
    });
    await reader.terminate();
    expect(result.bad).toEqual([]);
    expect(result.reads).toBeGreaterThan(20);
    expect(serialIn(read(file))).toBe(t.store.snapshot(zone.id)!.serial);
    expect(serialIn(read(file))).toBe(serial0 + 40);
  });

  it('removes a deleted zone from named.conf.zones and deletes its file', async () => {
    t = tempStore();
    const keep = t.zone('keep.example');
    const gone = t.zone('gone.example');
    const { writer } = newWriter({ debounceMs: 20 });
    await writer.start();
    const conf = join(t.dir, 'named.conf.zones');
    expect(read(conf)).toContain('zone "gone.example"');
    t.store.deleteZone(t.accountId, gone.uuid);
    await waitFor(() => !existsSync(writer.fileOf('gone.example')), 2000);
    expect(read(conf)).not.toContain('gone.example');
    expect(read(conf)).toContain('zone "keep.example"');
    expect(existsSync(writer.fileOf('keep.example'))).toBe(true);
    // A zone created later appears in both.
    t.zone('new.example');
    await writer.flush();
    expect(read(conf)).toContain('zone "new.example"');
    expect(existsSync(writer.fileOf('new.example'))).toBe(true);
    void keep;
  });

  it('on start, regenerates files and removes the files of zones no longer hosted', async () => {
    t = tempStore();
    const zone = t.zone('x.example');
    const first = newWriter();
    await first.writer.start();
    await first.writer.close();
    // While stopped: a change, a deleted zone, a hand edit, and a file that is not ours.
    t.store.createRecord(zone, a('late', '192.0.2.9'));
    const dir = join(t.dir, 'zones');
    writeFileSync(join(dir, 'old.example.zone'), '; Zone old.example, serial 1, generated by vpsdns.\n');
    writeFileSync(join(dir, 'mine.example.zone'), '; my own zone file\n');
    const second = newWriter();
    await second.writer.start();
    expect(read(second.writer.fileOf('x.example'))).toMatch(/^late /m);
    expect(existsSync(join(dir, 'old.example.zone'))).toBe(false);
    expect(existsSync(join(dir, 'mine.example.zone'))).toBe(true);
  });

  it('runs the hook with %z after a write, and retries a failing hook with back-off, logging each failure', async () => {
    t = tempStore();
    const zone = t.zone('hook.example');
    const out = join(t.dir, 'hook.log');
    const { writer } = newWriter({ debounceMs: 10, onZoneChange: `echo "%z $VPSDNS_ZONE_EVENT" >> ${out}` });
    await writer.start();
    t.store.createRecord(zone, a('www', '192.0.2.1'));
    await writer.flush();
    await waitFor(() => read(out).includes('hook.example updated'), 3000);
    expect(read(out).split('\n')[0]).toBe('hook.example created');
    await writer.close();

    const count = join(t.dir, 'attempts');
    const failing = newWriter({
      debounceMs: 10,
      hookRetries: 2,
      hookBackoffMs: 30,
      onZoneChange: `echo %z >> ${count}; echo nope >&2; exit 3`,
    });
    t.store.createRecord(zone, a('www2', '192.0.2.2'));
    await failing.writer.start(); // writes the changed file: the hook runs, not awaited
    // start() did not wait for the hook's three attempts (at least 90 ms of back-off) to end.
    expect(failing.lines.some((l) => String(l.msg).includes('giving up'))).toBe(false);
    await waitFor(() => failing.lines.some((l) => String(l.msg).includes('giving up')), 5000);
    expect(read(count).trim().split('\n')).toEqual(['hook.example', 'hook.example', 'hook.example']);
    const warnings = failing.lines.filter((l) => String(l.msg).startsWith('zone change hook failed'));
    expect(warnings).toHaveLength(3);
    expect(warnings[0]).toMatchObject({ zone: 'hook.example', stderr: 'nope' });
    expect(String(warnings[0].msg)).toMatch(/exit code 3\); retrying in 30 ms/);
  });

  it('refuses to start with a zone directory it cannot write, saying which and how to fix it', async () => {
    t = tempStore();
    const blocker = join(t.dir, 'not-a-dir');
    writeFileSync(blocker, '');
    const { writer } = newWriter({ zoneDir: join(blocker, 'zones') });
    const err = await writer.start().catch((e) => e);
    expect(err).toBeInstanceOf(ZoneDirError);
    expect(err.message).toMatch(/cannot write zone files to .*not-a-dir\/zones: .*--zone-dir \/ VPSDNS_ZONE_DIR/);
  });
});
