// Generated DNS packets for fuzzing the wire path: random bytes, mutated valid queries, compression
// loops, oversized counts and bad OPT records. Seeded, so a failure can be replayed.
import dnsPacket from 'dns-packet';

/** A small, fast, seedable PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NAMES = [
  'example.com',
  'www.example.com',
  'WwW.ExAmPlE.CoM',
  'nx.example.com',
  'a.b.c.example.com',
  'other.org',
  '.',
];
const TYPES = ['A', 'AAAA', 'MX', 'TXT', 'NS', 'SOA', 'CNAME', 'SRV', 'CAA', 'ANY', 'AXFR', 'IXFR', 'DS'] as const;

export function validQuery(rand: () => number, names = NAMES): Buffer {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
  const edns = rand() < 0.6;
  return dnsPacket.encode({
    type: 'query',
    id: Math.floor(rand() * 65536),
    flags: rand() < 0.5 ? dnsPacket.RECURSION_DESIRED : 0,
    questions: [{ name: pick(names), type: pick(TYPES) as 'A', class: 'IN' }],
    additionals: edns
      ? [
          {
            type: 'OPT',
            name: '.',
            udpPayloadSize: pick([0, 512, 1232, 4096, 65535]),
            extendedRcode: 0,
            ednsVersion: 0,
            flags: 0,
            flag_do: false,
            options: [],
          },
        ]
      : [],
  } as dnsPacket.Packet);
}

function header(rand: () => number, qd: number, an: number, ns: number, ar: number): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(Math.floor(rand() * 65536), 0);
  h.writeUInt16BE(Math.floor(rand() * 65536) & 0x7fff, 2);
  h.writeUInt16BE(qd, 4);
  h.writeUInt16BE(an, 6);
  h.writeUInt16BE(ns, 8);
  h.writeUInt16BE(ar, 10);
  return h;
}

/** One hostile packet; `kind` cycles through the families so every run covers all of them. */
export function hostilePacket(rand: () => number, i: number, names = NAMES): Buffer {
  switch (i % 6) {
    case 0: {
      // Random bytes of random length, sometimes shorter than a header.
      const len = Math.floor(rand() * (rand() < 0.2 ? 12 : 600));
      const b = Buffer.alloc(len);
      for (let k = 0; k < len; k++) b[k] = Math.floor(rand() * 256);
      return b;
    }
    case 1: {
      // A valid query with a few bytes flipped or overwritten.
      const q = Buffer.from(validQuery(rand, names));
      const edits = 1 + Math.floor(rand() * 4);
      for (let k = 0; k < edits; k++) {
        const at = Math.floor(rand() * q.length);
        q[at] = rand() < 0.5 ? q[at] ^ (1 << Math.floor(rand() * 8)) : Math.floor(rand() * 256);
      }
      return q;
    }
    case 2: {
      // Truncated, or with trailing garbage.
      const q = validQuery(rand, names);
      if (rand() < 0.5) return q.subarray(0, Math.floor(rand() * q.length));
      const extra = Buffer.alloc(1 + Math.floor(rand() * 40));
      for (let k = 0; k < extra.length; k++) extra[k] = Math.floor(rand() * 256);
      return Buffer.concat([q, extra]);
    }
    case 3: {
      // Compression loops and forward pointers in the question name.
      const name =
        rand() < 0.5
          ? Buffer.from([0xc0, 12]) // points at itself
          : Buffer.from([3, 0x77, 0x77, 0x77, 0xc0, 12 + Math.floor(rand() * 8)]);
      return Buffer.concat([header(rand, 1, 0, 0, 0), name, Buffer.from([0, 1, 0, 1])]);
    }
    case 4: {
      // Oversized counts: claims thousands of records that are not there.
      const q = Buffer.from(validQuery(rand, names));
      q.writeUInt16BE(Math.floor(rand() * 65536), 4 + 2 * Math.floor(rand() * 4));
      return q;
    }
    default: {
      // Bad OPT: wrong RDLEN, option lengths running past the end, several OPTs, OPT with a name.
      const q = validQuery(rand, names);
      const base = Buffer.from(q);
      const opt = Buffer.from([0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 8, 0, 10, 0, 200, 1, 2, 3, 4]);
      opt.writeUInt16BE(Math.floor(rand() * 40), 9);
      if (rand() < 0.3) opt[0] = 7; // a non-root owner name
      const count = 1 + Math.floor(rand() * 3);
      const out = Buffer.concat([base, ...Array.from({ length: count }, () => opt)]);
      out.writeUInt16BE(out.readUInt16BE(10) + count, 10);
      return out;
    }
  }
}
