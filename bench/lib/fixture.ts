// The DNS benchmark's zone and query mix, generated deterministically: a zone of a few hundred names
// (hosts with A/AAAA/TXT, CNAME aliases, delegations with glue) and a 1000-query file for dnsperf with
// 70% answers, 10% NODATA, 10% NXDOMAIN, 5% CNAME, 5% referrals, and about 10% mixed-case names.

export interface BenchFixture {
  domain: string;
  /** BIND zone text of the records (no SOA/NS: vpsdns adds them; the exported file has them). */
  zoneText: string;
  records: number;
  /** dnsperf query lines: "name type". */
  queries: string[];
}

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s >>> 8;
  };
}

export function benchFixture(domain = 'bench.test', hosts = 200): BenchFixture {
  const lines: string[] = [`$ORIGIN ${domain}.`];
  const add = (l: string) => lines.push(l);
  add('@ 300 IN A 192.0.2.1');
  add('@ 300 IN AAAA 2001:db8::1');
  add('@ 300 IN MX 10 mx1.mail.example.net.');
  add('@ 300 IN MX 20 mx2.mail.example.net.');
  add('@ 300 IN TXT "v=spf1 -all"');
  for (let i = 0; i < hosts; i++) {
    add(`host${i} 300 IN A 10.0.${i >> 8}.${i & 255}`);
    if (i < hosts / 2) add(`host${i} 300 IN AAAA 2001:db8::${(i + 1).toString(16)}`);
    if (i % 4 === 0) add(`host${i} 300 IN TXT "host ${i} text"`);
  }
  const aliases = 50;
  for (let i = 0; i < aliases; i++) add(`alias${i} 300 IN CNAME host${(i * 7) % hosts}.${domain}.`);
  const subs = 20;
  for (let i = 0; i < subs; i++) {
    add(`sub${i} 3600 IN NS ns1.sub${i}.${domain}.`);
    add(`sub${i} 3600 IN NS ns.example.net.`);
    add(`ns1.sub${i} 3600 IN A 10.1.0.${i + 1}`);
  }
  const records = lines.length - 1;

  const rand = prng(20240601);
  const mixCase = (name: string) => {
    if (rand() % 10 !== 0) return name;
    return [...name].map((c) => (rand() % 2 ? c.toUpperCase() : c)).join('');
  };
  const queries: string[] = [];
  const q = (name: string, type: string) => queries.push(`${mixCase(name)} ${type}`);
  for (let n = 0; n < 1000; n++) {
    const k = n % 20; // 14 answers, 2 NODATA, 2 NXDOMAIN, 1 CNAME, 1 referral per 20
    const h = rand() % hosts;
    if (k < 10) q(`host${h}.${domain}`, 'A');
    else if (k < 12) q(`host${h % (hosts / 2)}.${domain}`, 'AAAA');
    else if (k === 12) q(domain, rand() % 2 ? 'MX' : 'A');
    else if (k === 13) q(`host${(h >> 2) << 2}.${domain}`, 'TXT');
    else if (k === 14) q(`host${h}.${domain}`, 'MX');
    else if (k === 15) q(`host${hosts / 2 + (h % (hosts / 2))}.${domain}`, 'AAAA');
    else if (k < 18) q(`nx${rand() % 500}.${domain}`, 'A');
    else if (k === 18) q(`alias${rand() % aliases}.${domain}`, 'A');
    else q(`www.sub${rand() % subs}.${domain}`, 'A');
  }
  return { domain, zoneText: `${lines.join('\n')}\n`, records, queries };
}
