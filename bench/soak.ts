// Soak (`npm run soak`, bounded: SOAK_SECONDS, default 180): DNS load and a stream of API writes at the
// same time against a spawned `vpsdns serve`. Checks that no query sent after a write's 2xx saw the old
// data, that no acknowledged write is lost, and how the server's memory moves. Prints figures; exits 1 on
// any stale answer or lost write.
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { loopbackServe, spawnServe } from '../test/helpers/cli.js';
import { descendants, rssKb } from './lib/proc.js';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 180);
const LOAD_QPS = Number(process.env.SOAK_QPS ?? 3000);

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'vpsdns-soak-'));
  const server = await spawnServe([...loopbackServe(dir), '--api-rate-limit', '0', '--rrl-rate', '0']);
  const token = server.output().match(/vps_[A-Za-z0-9]+/)![0];
  const base = `http://127.0.0.1:${server.apiPort}`;
  const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
  const zone = await (
    await fetch(`${base}/api/v1/dns-zones/`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ domain: 'soak.example' }),
    })
  ).json();
  for (let i = 0; i < 200; i++) {
    await fetch(`${base}/api/v1/dns-zones/${zone.uuid}/records/`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ record_type: 'A', name: `static${i}`, value: `10.0.0.${i % 250}` }),
    });
  }

  const sock = createSocket('udp4');
  const pending = new Map<number, (p: dnsPacket.DecodedPacket) => void>();
  sock.on('message', (msg) => {
    const id = msg.readUInt16BE(0);
    const done = pending.get(id);
    if (done) {
      pending.delete(id);
      done(dnsPacket.decode(msg));
    }
  });
  let nextId = 1;
  const ask = (name: string, type: 'A' | 'TXT') =>
    new Promise<dnsPacket.DecodedPacket | null>((resolve) => {
      const id = nextId++ & 0xffff || 1;
      nextId = id + 1;
      const timer = setTimeout(() => {
        pending.delete(id);
        resolve(null);
      }, 2000);
      pending.set(id, (p) => {
        clearTimeout(timer);
        resolve(p);
      });
      sock.send(dnsPacket.encode({ type: 'query', id, questions: [{ name, type }] }), server.dnsPort, '127.0.0.1');
    });

  const until = Date.now() + SECONDS * 1000;
  const rss: number[] = [rssKb(descendants(server.child.pid!))];
  const sampler = setInterval(() => rss.push(rssKb(descendants(server.child.pid!))), 5000);
  let queries = 0;
  let wrongStatic = 0;
  let timeouts = 0;

  // Background load: stable names whose answers must never change.
  const load = (async () => {
    while (Date.now() < until) {
      const tick = Date.now();
      const batch = Array.from({ length: Math.max(1, Math.floor(LOAD_QPS / 20)) }, (_, k) => {
        const i = (queries + k) % 200;
        return ask(`static${i}.soak.example`, 'A').then((p) => {
          if (!p) timeouts++;
          else if ((p.answers?.[0] as { data?: string } | undefined)?.data !== `10.0.0.${i % 250}`) wrongStatic++;
        });
      });
      queries += batch.length;
      await Promise.all(batch);
      const wait = 50 - (Date.now() - tick);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  })();

  // Writes: each TXT record gets a new value; right after the 2xx, a query must see it.
  let writes = 0;
  let stale = 0;
  const acked = new Map<string, string>();
  const writer = (async () => {
    const ids: string[] = [];
    for (let i = 0; Date.now() < until; i++) {
      const name = `w${i % 500}`;
      const value = `v${i}`;
      let res: Response;
      if (i < 500) {
        res = await fetch(`${base}/api/v1/dns-zones/${zone.uuid}/records/`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ record_type: 'TXT', name, value }),
        });
        if (res.status === 201) ids.push((await res.json()).uuid);
      } else {
        res = await fetch(`${base}/api/v1/dns-records/${ids[i % 500]}/`, {
          method: 'PATCH',
          headers,
          body: JSON.stringify({ value }),
        });
        await res.arrayBuffer();
      }
      if (res.status >= 300) throw new Error(`write failed: ${res.status}`);
      writes++;
      acked.set(name, value);
      const p = await ask(`${name}.soak.example`, 'TXT');
      const seen = p ? Buffer.concat((p.answers?.[0] as { data?: Buffer[] } | undefined)?.data ?? []).toString() : null;
      if (seen !== value) stale++;
    }
  })();

  await Promise.all([load, writer]);
  clearInterval(sampler);
  rss.push(rssKb(descendants(server.child.pid!)));

  // Nothing lost: every acknowledged value is what the API and DNS hold now.
  let lost = 0;
  const records = await (
    await fetch(`${base}/api/v1/dns-zones/${zone.uuid}/records/?record_type=TXT&page_size=1000`, { headers })
  ).json();
  const byName = new Map<string, string>(records.map((r: { name: string; value: string }) => [r.name, r.value]));
  for (const [name, value] of acked) if (byName.get(name) !== value) lost++;
  sock.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });

  const mb = (kb: number) => (kb / 1024).toFixed(1);
  const firstHalf = rss.slice(1, Math.ceil(rss.length / 2));
  console.log(`soak ${SECONDS} s: ${writes} API writes, ${queries} background queries (+${writes} read-after-write)`);
  console.log(
    `stale answers after a 2xx: ${stale}; wrong answers for stable names: ${wrongStatic}; UDP timeouts: ${timeouts}; lost writes: ${lost}`,
  );
  console.log(
    `server RSS (with its DNS workers): start ${mb(rss[0])} MiB, max ${mb(Math.max(...rss))} MiB, end ${mb(rss[rss.length - 1])} MiB (first-half median ${mb(firstHalf.sort((a, b) => a - b)[Math.floor(firstHalf.length / 2)] ?? 0)} MiB)`,
  );
  if (stale > 0 || lost > 0 || wrongStatic > 0) process.exit(1);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
