/**
 * The fruit/veggie data generator: deterministic multi-tenant OpenMetrics text for
 * `promtool tsdb create-blocks-from openmetrics FILE DIR` (Prometheus backfill).
 *
 * The story is the Thanos multi-tenancy tutorial's: `team-fruit` runs a shop and farms,
 * `team-veggie` runs a market as two replicas (`replica="a"|"b"`), and the platform team
 * has node-exporter and `up` series WITHOUT a tenant label (visible only to `*`).
 *
 * Series (about 160 in all, each with one sample per step):
 * - team-fruit: `fruit_harvested_total{tenant,job="farm",fruit,farm}` counters,
 *   `fruit_basket_items{tenant,job="farm",fruit}` gauges, `http_requests_total{tenant,job="shop",instance,code,method}`,
 *   the histogram `http_request_duration_seconds_{bucket,sum,count}{tenant,job="shop",instance[,le]}`,
 *   `up{tenant,job="shop"|"node",instance}`; its own node exporter (`instance="fruit-1:9100"`,
 *   the node_* metrics below WITH `tenant="team-fruit"`), two Kubernetes pods
 *   (`container_cpu_usage_seconds_total`, `container_memory_working_set_bytes`,
 *   `container_network_{receive,transmit}_bytes_total`, `kube_pod_info`,
 *   `kube_pod_status_phase`, `kube_pod_container_resource_{requests,limits}` in
 *   `namespace="default"`) and `process_*` series of the shop, so that real-world
 *   dashboard queries find data in its tenant;
 * - team-veggie: `veggie_harvested_total{tenant,job="market",veggie,replica}`,
 *   `http_requests_total{tenant,job="market",replica,code,method}`, the same histogram with
 *   `replica`, `up{tenant,job="market",replica}`;
 * - platform (no tenant label): `node_cpu_seconds_total{job="node",instance,cpu,mode}`,
 *   `node_network_{receive,transmit}_bytes_total`, `node_memory_{MemTotal,MemAvailable,MemFree,Cached,Buffers}_bytes`,
 *   `node_load1`, `node_filesystem_{size,avail}_bytes`,
 *   `up{job="node"|"prometheus",instance}`.
 *
 * Counters are monotonic (never reset), every value comes from a seeded PRNG, and the same
 * options always produce the same bytes.
 *
 * CLI: `node --import tsx scripts/generate-data.ts [--end UNIX_S] [--hours H] [--step S]
 * [--tenants team-fruit,team-veggie] [--no-platform] [--out FILE]` (defaults: end = now
 * rounded down to the step, 6 h, 15 s, both tenants + platform, stdout).
 */
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/** The tenants the generator knows. */
export const GENERATOR_TENANTS = ['team-fruit', 'team-veggie'] as const;

/** Options of {@link generateOpenMetrics}. */
export interface GenerateOptions {
  /** Timestamp of the last sample, unix seconds (rounded down to a multiple of `stepSeconds`). */
  readonly end: number;
  /** Length of the data, hours (samples from `end - hours*3600` to `end` inclusive). */
  readonly hours: number;
  /** Seconds between two samples of one series. */
  readonly stepSeconds: number;
  /**
   * Tenants whose series are generated (subset of {@link GENERATOR_TENANTS}). Default: all.
   * When given, platform series are left out unless `platform` is true: "only team-fruit
   * data" really means only series carrying `tenant="team-fruit"`.
   */
  readonly tenants?: readonly string[];
  /** Generate the untenanted platform series. Default: true when `tenants` is not given, else false. */
  readonly platform?: boolean;
  /** PRNG seed. Default 42. */
  readonly seed?: number;
  /**
   * Keep only the series whose labels (without the metric name) pass this test; the others are
   * left out, every kept series has exactly the samples it has without a filter. Default: all.
   * (An access policy's oracle: the data a Prometheus holding only the policy's series has.)
   */
  readonly filter?: (labels: Readonly<Record<string, string>>) => boolean;
}

/** Deterministic PRNG (mulberry32): returns floats in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a hash of a string, used to derive a per-series seed. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

type Labels = Record<string, string>;

function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatLabels(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

/** Formats a float the way OpenMetrics wants: plain decimal, at most 6 fraction digits. */
function formatValue(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return String(Math.round(v * 1e6) / 1e6);
}

/** One metric family being written: header lines, then each series' samples in time order. */
class FamilyWriter {
  private readonly out: string[];
  private readonly times: readonly number[];
  private readonly keep: (labels: Labels) => boolean;
  constructor(out: string[], times: readonly number[], keep: (labels: Labels) => boolean, name: string, type: 'counter' | 'gauge' | 'histogram', help: string) {
    this.out = out;
    this.times = times;
    this.keep = keep;
    out.push(`# HELP ${name} ${help}`);
    out.push(`# TYPE ${name} ${type}`);
  }
  /** Writes one series: `values[i]` is the sample at `times[i]`. */
  series(name: string, labels: Labels, values: readonly number[]): void {
    if (!this.keep(labels)) return;
    const head = name + formatLabels(labels) + ' ';
    for (let i = 0; i < this.times.length; i++) {
      this.out.push(head + formatValue(values[i] ?? 0) + ' ' + String(this.times[i]));
    }
  }
}

/** A monotonic counter: base + cumulative increments of about `perSecond * step` each. */
function counterValues(rand: () => number, n: number, step: number, perSecond: number, integer: boolean): number[] {
  const values: number[] = new Array<number>(n);
  let v = Math.floor(rand() * 1000 * perSecond);
  for (let i = 0; i < n; i++) {
    // Daily-ish wave plus noise, never negative: counters only go up.
    const wave = 1 + 0.5 * Math.sin((i * step) / 3600);
    const inc = perSecond * step * wave * (0.5 + rand());
    v += integer ? Math.round(inc) : inc;
    values[i] = v;
  }
  return values;
}

/** A gauge wandering around `mid` within ±`spread`. */
function gaugeValues(rand: () => number, n: number, mid: number, spread: number, integer: boolean): number[] {
  const values: number[] = new Array<number>(n);
  let v = mid;
  for (let i = 0; i < n; i++) {
    v += (rand() - 0.5) * spread * 0.2;
    v = Math.max(mid - spread, Math.min(mid + spread, v));
    values[i] = integer ? Math.round(v) : v;
  }
  return values;
}

const BUCKETS = ['0.05', '0.1', '0.25', '0.5', '1', '2.5', '+Inf'] as const;

/**
 * Writes the request-duration histogram of one instance: `_bucket` (cumulative, one series
 * per `le`), `_sum` and `_count`, all monotonic.
 */
function histogramSeries(fam: FamilyWriter, rand: () => number, n: number, step: number, base: Labels, perSecond: number, slowness: number): void {
  const name = 'http_request_duration_seconds';
  const buckets: number[][] = BUCKETS.map(() => new Array<number>(n));
  const sums: number[] = new Array<number>(n);
  const counts: number[] = new Array<number>(n);
  const cum = BUCKETS.map(() => 0);
  let sum = 0;
  let count = 0;
  for (let i = 0; i < n; i++) {
    const reqs = Math.round(perSecond * step * (0.5 + rand()));
    // Split the requests of this step over the buckets (non-cumulative first).
    for (let r = 0; r < reqs; r++) {
      const latency = -Math.log(1 - rand()) * 0.12 * slowness; // exponential, mean 0.12 s * slowness
      sum += latency;
      count += 1;
      for (let b = 0; b < BUCKETS.length; b++) {
        const le = BUCKETS[b] === '+Inf' ? Infinity : Number(BUCKETS[b]);
        if (latency <= le) cum[b] = (cum[b] ?? 0) + 1;
      }
    }
    for (let b = 0; b < BUCKETS.length; b++) (buckets[b] as number[])[i] = cum[b] ?? 0;
    sums[i] = sum;
    counts[i] = count;
  }
  BUCKETS.forEach((le, b) => fam.series(name + '_bucket', { ...base, le }, buckets[b] as number[]));
  fam.series(name + '_sum', base, sums);
  fam.series(name + '_count', base, counts);
}

/**
 * Generates the OpenMetrics text (ending in `# EOF\n`).
 *
 * @example
 * const text = generateOpenMetrics({ end: 1767225600, hours: 6, stepSeconds: 15 });
 * // write it to data.om, then: promtool tsdb create-blocks-from openmetrics data.om ./data
 * @throws RangeError on a non-positive step/hours, or an unknown tenant
 */
export function generateOpenMetrics(opts: GenerateOptions): string {
  const step = opts.stepSeconds;
  if (!(step > 0) || !Number.isInteger(step)) throw new RangeError('stepSeconds must be a positive integer');
  if (!(opts.hours > 0)) throw new RangeError('hours must be positive');
  const tenants = opts.tenants ?? GENERATOR_TENANTS;
  for (const t of tenants) {
    if (!(GENERATOR_TENANTS as readonly string[]).includes(t)) throw new RangeError(`unknown tenant ${t} (known: ${GENERATOR_TENANTS.join(', ')})`);
  }
  const platform = opts.platform ?? opts.tenants === undefined;
  const seed = opts.seed ?? 42;
  const end = Math.floor(opts.end / step) * step;
  const n = Math.floor((opts.hours * 3600) / step) + 1;
  const start = end - (n - 1) * step;
  const times: number[] = [];
  for (let i = 0; i < n; i++) times.push(start + i * step);
  const rng = (key: string) => mulberry32(seed ^ hash(key));
  const out: string[] = [];
  const keep = opts.filter ?? (() => true);
  const fruit = tenants.includes('team-fruit');
  const veggie = tenants.includes('team-veggie');

  // Counters.
  if (fruit) {
    const fam = new FamilyWriter(out, times, keep, 'fruit_harvested', 'counter', 'Fruit harvested, pieces.');
    for (const f of ['apple', 'banana', 'cherry']) {
      for (const farm of ['north', 'south']) {
        const labels = { tenant: 'team-fruit', job: 'farm', fruit: f, farm };
        fam.series('fruit_harvested_total', labels, counterValues(rng(JSON.stringify(labels)), n, step, f === 'cherry' ? 3 : 1, true));
      }
    }
  }
  if (veggie) {
    const fam = new FamilyWriter(out, times, keep, 'veggie_harvested', 'counter', 'Vegetables harvested, pieces.');
    for (const v of ['carrot', 'leek', 'tomato']) {
      for (const replica of ['a', 'b']) {
        const labels = { tenant: 'team-veggie', job: 'market', veggie: v, replica };
        // Both replicas report (nearly) the same counter, as deduplicated HA pairs do.
        fam.series('veggie_harvested_total', labels, counterValues(rng(`veggie/${v}`), n, step, v === 'tomato' ? 2 : 1, true));
      }
    }
  }
  if (fruit || veggie) {
    const fam = new FamilyWriter(out, times, keep, 'http_requests', 'counter', 'HTTP requests served.');
    const codes: Array<[string, number]> = [['200', 5], ['404', 0.3], ['500', 0.1]];
    if (fruit) {
      for (const instance of ['shop-1:8080', 'shop-2:8080']) {
        for (const [code, r] of codes) {
          for (const method of ['GET', 'POST']) {
            const labels = { tenant: 'team-fruit', job: 'shop', instance, code, method };
            fam.series('http_requests_total', labels, counterValues(rng(JSON.stringify(labels)), n, step, method === 'GET' ? r : r / 4, true));
          }
        }
      }
    }
    if (veggie) {
      for (const replica of ['a', 'b']) {
        for (const [code, r] of codes) {
          for (const method of ['GET', 'POST']) {
            const labels = { tenant: 'team-veggie', job: 'market', replica, code, method };
            fam.series('http_requests_total', labels, counterValues(rng(JSON.stringify(labels)), n, step, (method === 'GET' ? r : r / 4) * 2, true));
          }
        }
      }
    }
  }
  // Node exporters: the platform's two nodes (no tenant label) and team-fruit's own node.
  const hosts: Labels[] = [];
  if (platform) for (const instance of ['node-1:9100', 'node-2:9100']) hosts.push({ job: 'node', instance });
  if (fruit) hosts.push({ tenant: 'team-fruit', job: 'node', instance: 'fruit-1:9100' });
  if (hosts.length > 0) {
    const fam = new FamilyWriter(out, times, keep, 'node_cpu_seconds', 'counter', 'Seconds the CPUs spent in each mode.');
    for (const host of hosts) {
      for (const cpu of ['0', '1']) {
        const shares: Record<string, number> = { idle: 0.7, user: 0.2, system: 0.08, iowait: 0.02 };
        for (const mode of ['idle', 'iowait', 'system', 'user']) {
          const labels = { ...host, cpu, mode };
          fam.series('node_cpu_seconds_total', labels, counterValues(rng(JSON.stringify(labels)), n, step, shares[mode] ?? 0.1, false));
        }
      }
    }
    for (const [dir, help] of [['receive', 'received'], ['transmit', 'transmitted']] as const) {
      const name = `node_network_${dir}_bytes`;
      const net = new FamilyWriter(out, times, keep, name, 'counter', `Network bytes ${help}.`);
      for (const host of hosts) {
        const labels = { ...host, device: 'eth0' };
        net.series(name + '_total', labels, counterValues(rng(name + JSON.stringify(labels)), n, step, 125000, true));
      }
    }
  }
  if (fruit) {
    // team-fruit's Kubernetes pods (cAdvisor / kube-state-metrics style), labelled by tenant.
    const pods: Labels[] = ['pod-1', 'pod-2'].map((pod) => ({ tenant: 'team-fruit', namespace: 'default', pod, container: 'app', node: 'fruit-1' }));
    const cpuFam = new FamilyWriter(out, times, keep, 'container_cpu_usage_seconds', 'counter', 'Container CPU time, seconds.');
    for (const p of pods) cpuFam.series('container_cpu_usage_seconds_total', { ...p, job: 'kubelet' }, counterValues(rng('ccpu' + JSON.stringify(p)), n, step, 0.25, false));
    for (const dir of ['receive', 'transmit']) {
      const name = `container_network_${dir}_bytes`;
      const fam = new FamilyWriter(out, times, keep, name, 'counter', `Container network bytes (${dir}).`);
      for (const p of pods) fam.series(name + '_total', { tenant: 'team-fruit', namespace: 'default', pod: p['pod'] ?? '', interface: 'eth0', job: 'kubelet' }, counterValues(rng(name + JSON.stringify(p)), n, step, 20000, true));
    }
    const procCpu = new FamilyWriter(out, times, keep, 'process_cpu_seconds', 'counter', 'Process CPU time, seconds.');
    for (const instance of ['shop-1:8080', 'shop-2:8080']) procCpu.series('process_cpu_seconds_total', { tenant: 'team-fruit', job: 'shop', instance }, counterValues(rng('pcpu' + instance), n, step, 0.1, false));
  }

  // Histograms.
  if (fruit || veggie) {
    const fam = new FamilyWriter(out, times, keep, 'http_request_duration_seconds', 'histogram', 'HTTP request latency.');
    if (fruit) {
      for (const instance of ['shop-1:8080', 'shop-2:8080']) {
        const base = { tenant: 'team-fruit', job: 'shop', instance };
        histogramSeries(fam, rng(JSON.stringify(base)), n, step, base, 1, instance === 'shop-1:8080' ? 1 : 2);
      }
    }
    if (veggie) {
      for (const replica of ['a', 'b']) {
        const base = { tenant: 'team-veggie', job: 'market', replica };
        histogramSeries(fam, rng(JSON.stringify(base)), n, step, base, 1.5, 1.5);
      }
    }
  }

  // Gauges.
  if (fruit) {
    const fam = new FamilyWriter(out, times, keep, 'fruit_basket_items', 'gauge', 'Fruit in the shop basket, pieces.');
    for (const f of ['apple', 'banana', 'cherry']) {
      const labels = { tenant: 'team-fruit', job: 'farm', fruit: f };
      fam.series('fruit_basket_items', labels, gaugeValues(rng(JSON.stringify(labels)), n, 50, 40, true));
    }
  }
  if (hosts.length > 0) {
    const memTotal = 8589934592;
    const gauges: Array<[string, string, (host: Labels) => number[]]> = [
      ['node_memory_MemTotal_bytes', 'Memory total, bytes.', () => times.map(() => memTotal)],
      ['node_memory_MemAvailable_bytes', 'Memory available, bytes.', (h) => gaugeValues(rng('mem/' + JSON.stringify(h)), n, 4e9, 2e9, true)],
      ['node_memory_MemFree_bytes', 'Memory free, bytes.', (h) => gaugeValues(rng('free/' + JSON.stringify(h)), n, 2e9, 1e9, true)],
      ['node_memory_Cached_bytes', 'Page cache, bytes.', (h) => gaugeValues(rng('cached/' + JSON.stringify(h)), n, 1.5e9, 5e8, true)],
      ['node_memory_Buffers_bytes', 'Buffers, bytes.', (h) => gaugeValues(rng('buf/' + JSON.stringify(h)), n, 2e8, 1e8, true)],
      ['node_load1', '1m load average.', (h) => gaugeValues(rng('load/' + JSON.stringify(h)), n, 0.8, 0.7, false)],
    ];
    for (const [name, help, values] of gauges) {
      const fam = new FamilyWriter(out, times, keep, name, 'gauge', help);
      for (const host of hosts) fam.series(name, host, values(host));
    }
    for (const [name, help, mid] of [['node_filesystem_size_bytes', 'Filesystem size, bytes.', 1e11], ['node_filesystem_avail_bytes', 'Filesystem space available, bytes.', 4e10]] as const) {
      const fam = new FamilyWriter(out, times, keep, name, 'gauge', help);
      for (const host of hosts) {
        const labels = { ...host, device: '/dev/sda1', fstype: 'ext4', mountpoint: '/' };
        fam.series(name, labels, name === 'node_filesystem_size_bytes' ? times.map(() => mid) : gaugeValues(rng(name + JSON.stringify(labels)), n, mid, 1e10, true));
      }
    }
  }
  if (fruit) {
    const pods = ['pod-1', 'pod-2'];
    // kube-state-metrics' own labels (instance, uid) too: dashboards join on them.
    const base = (pod: string): Labels => ({ tenant: 'team-fruit', namespace: 'default', pod, uid: `uid-${pod}`, instance: 'kube-state-metrics:8080' });
    const mem = new FamilyWriter(out, times, keep, 'container_memory_working_set_bytes', 'gauge', 'Container working set, bytes.');
    for (const pod of pods) mem.series('container_memory_working_set_bytes', { tenant: 'team-fruit', namespace: 'default', pod, container: 'app', node: 'fruit-1', job: 'kubelet' }, gaugeValues(rng('cmem' + pod), n, 3e8, 1e8, true));
    const info = new FamilyWriter(out, times, keep, 'kube_pod_info', 'gauge', 'Pod information.');
    for (const pod of pods) info.series('kube_pod_info', { ...base(pod), node: 'fruit-1', job: 'kube-state-metrics' }, times.map(() => 1));
    const phase = new FamilyWriter(out, times, keep, 'kube_pod_status_phase', 'gauge', 'Pod phase.');
    for (const pod of pods) phase.series('kube_pod_status_phase', { ...base(pod), phase: 'Running', job: 'kube-state-metrics' }, times.map(() => 1));
    for (const [name, cpu, memory] of [['kube_pod_container_resource_requests', 0.25, 268435456], ['kube_pod_container_resource_limits', 1, 536870912]] as const) {
      const fam = new FamilyWriter(out, times, keep, name, 'gauge', `Container resource ${name.endsWith('requests') ? 'requests' : 'limits'}.`);
      for (const pod of pods) {
        fam.series(name, { ...base(pod), container: 'app', node: 'fruit-1', resource: 'cpu', unit: 'core', job: 'kube-state-metrics' }, times.map(() => cpu));
        fam.series(name, { ...base(pod), container: 'app', node: 'fruit-1', resource: 'memory', unit: 'byte', job: 'kube-state-metrics' }, times.map(() => memory));
      }
    }
    const rss = new FamilyWriter(out, times, keep, 'process_resident_memory_bytes', 'gauge', 'Resident memory, bytes.');
    for (const instance of ['shop-1:8080', 'shop-2:8080']) rss.series('process_resident_memory_bytes', { tenant: 'team-fruit', job: 'shop', instance }, gaugeValues(rng('rss' + instance), n, 1.5e8, 5e7, true));
    const startT = new FamilyWriter(out, times, keep, 'process_start_time_seconds', 'gauge', 'Process start time, unix seconds.');
    for (const instance of ['shop-1:8080', 'shop-2:8080']) startT.series('process_start_time_seconds', { tenant: 'team-fruit', job: 'shop', instance }, times.map(() => start - 86400));
  }
  {
    const targets: Labels[] = [];
    if (fruit) {
      for (const instance of ['shop-1:8080', 'shop-2:8080']) targets.push({ tenant: 'team-fruit', job: 'shop', instance });
      targets.push({ tenant: 'team-fruit', job: 'node', instance: 'fruit-1:9100' });
    }
    if (veggie) for (const replica of ['a', 'b']) targets.push({ tenant: 'team-veggie', job: 'market', replica });
    if (platform) {
      for (const instance of ['node-1:9100', 'node-2:9100']) targets.push({ job: 'node', instance });
      targets.push({ job: 'prometheus', instance: 'localhost:9090' });
    }
    if (targets.length > 0) {
      const fam = new FamilyWriter(out, times, keep, 'up', 'gauge', 'Whether the target was up.');
      for (const labels of targets) fam.series('up', labels, times.map(() => 1));
    }
  }
  out.push('# EOF');
  return out.join('\n') + '\n';
}

/** The number of series {@link generateOpenMetrics} writes for these options (without generating them). */
export function countSeries(opts: Pick<GenerateOptions, 'tenants' | 'platform'>): number {
  const tenants = opts.tenants ?? GENERATOR_TENANTS;
  const platform = opts.platform ?? opts.tenants === undefined;
  let n = 0;
  const host = 8 + 2 + 5 + 1 + 2; // cpu, network, memory, load, filesystem
  if (tenants.includes('team-fruit')) n += 6 + 12 + 18 + 3 + 3 + host + 2 + 2 + 2 + 2 + 2 + 2 + 4 + 4 + 2 + 2 + 2;
  if (tenants.includes('team-veggie')) n += 6 + 12 + 18 + 2;
  if (platform) n += 2 * host + 3;
  return n;
}

function parseArgs(argv: readonly string[]): { opts: GenerateOptions; out: string | undefined } {
  let end: number | undefined;
  let hours = 6;
  let step = 15;
  let tenants: string[] | undefined;
  let platform: boolean | undefined;
  let out: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    switch (a) {
      case '--end': end = Number(next()); break;
      case '--hours': hours = Number(next()); break;
      case '--step': step = Number(next()); break;
      case '--tenants': tenants = next().split(',').filter((t) => t !== ''); break;
      case '--platform': platform = true; break;
      case '--no-platform': platform = false; break;
      case '--out': out = next(); break;
      case '-h':
      case '--help':
        process.stdout.write('usage: generate-data.ts [--end UNIX_S] [--hours H] [--step S] [--tenants a,b] [--platform|--no-platform] [--out FILE]\n');
        process.exit(0);
        break;
      default: throw new Error(`unknown argument ${String(a)}`);
    }
  }
  const e = end ?? Math.floor(Date.now() / 1000);
  const opts: GenerateOptions = { end: e, hours, stepSeconds: step, ...(tenants ? { tenants } : {}), ...(platform === undefined ? {} : { platform }) };
  return { opts, out };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    const { opts, out } = parseArgs(process.argv.slice(2));
    const text = generateOpenMetrics(opts);
    if (out === undefined) process.stdout.write(text);
    else writeFileSync(out, text);
  } catch (err) {
    process.stderr.write(`generate-data: ${(err as Error).message}\n`);
    process.exit(2);
  }
}
