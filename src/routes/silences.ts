/**
 * Alertmanager silences (API v2, Alertmanager 0.25) seen through an access policy: which
 * silences a caller may see, and what a silence it creates or updates must look like.
 *
 * A silence belongs to the caller's tenants when its matchers *pin* the tenant label to
 * granted tenants (src/access/admits.ts `policyCovers`): `tenant="a"`, or `tenant=~"a|b"`
 * (Alertmanager anchors regexes like Prometheus) with every alternative granted. Such a
 * silence can only mute the caller's own alerts; any other (no tenant matcher, a negative
 * or open regex, a foreign tenant) is invisible to the caller and cannot be changed by it.
 */
import { policyCovers } from '../access/admits.ts';
import type { AccessPolicy, LabelMatcher } from '../access/index.ts';
import { describePolicy } from '../access/index.ts';
import { HttpError } from '../http/errors.ts';

/** A silence matcher as Alertmanager's API v2 writes it (`isEqual` absent = true, as in Alertmanager < 0.22). */
export interface SilenceMatcher {
  readonly name: string;
  readonly value: string;
  readonly isRegex: boolean;
  readonly isEqual?: boolean;
}

/** Most matchers one silence may carry (a bound on the work of checking it). */
export const MAX_SILENCE_MATCHERS = 100;

/** A silence's matchers as label matchers; `undefined` when they are not well-formed. */
export function silenceMatchers(silence: unknown): LabelMatcher[] | undefined {
  const list = (silence as { matchers?: unknown } | null)?.matchers;
  if (!Array.isArray(list)) return undefined;
  const out: LabelMatcher[] = [];
  for (const m of list as unknown[]) {
    const { name, value, isRegex, isEqual } = (m ?? {}) as Record<string, unknown>;
    if (typeof name !== 'string' || typeof value !== 'string' || typeof isRegex !== 'boolean') return undefined;
    if (isEqual !== undefined && typeof isEqual !== 'boolean') return undefined;
    const equal = isEqual !== false;
    out.push({ name, value, op: isRegex ? (equal ? '=~' : '!~') : (equal ? '=' : '!=') });
  }
  return out;
}

/** Whether the caller may see (and so update or expire) `silence`. */
export function silenceVisible(silence: unknown, policy: AccessPolicy): boolean {
  if (policy.selectors === undefined) return true;
  const matchers = silenceMatchers(silence);
  return matchers !== undefined && matchers.length > 0 && policyCovers(policy, matchers);
}

/** The filter of `GET /api/v2/silences`: only the silences the caller may see. */
export function filterSilences(body: unknown, policy: AccessPolicy): unknown[] {
  if (!Array.isArray(body)) throw new HttpError('upstream_unavailable', 'Alertmanager answered silences that are not a JSON list; refused');
  return body.filter((s) => silenceVisible(s, policy));
}

/** Silence IDs: Alertmanager's are UUIDs; anything else is refused before it reaches a URL. */
export const SILENCE_ID = /^[0-9A-Za-z-]{1,64}$/;

/**
 * Checks a silence ID from a path or body.
 *
 * @throws HttpError `invalid_parameter` (400)
 */
export function checkSilenceId(id: string): string {
  if (!SILENCE_ID.test(id)) throw new HttpError('invalid_parameter', `invalid silence ID ${JSON.stringify(id.slice(0, 80))}: expected an Alertmanager silence ID (a UUID)`);
  return id;
}

/** A silence to create or update, rebuilt from the client's JSON (only Alertmanager's `PostableSilence` fields). */
export interface PostableSilence {
  id?: string;
  matchers: SilenceMatcher[];
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
}

function bad(why: string): HttpError {
  return new HttpError('invalid_parameter', `invalid silence: ${why}`);
}

/**
 * Parses a `POST /api/v2/silences` body and rebuilds it from its known fields (unknown
 * fields are dropped: what Alertmanager receives is what promfence checked).
 *
 * @param body the raw JSON body
 * @throws HttpError `invalid_parameter` (400) for JSON that is not a silence: not an object,
 *   no or too many matchers, a field of the wrong type, an invalid `id`
 */
export function parseSilence(body: Buffer): PostableSilence {
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch {
    throw bad('the body is not JSON; send an Alertmanager silence {"matchers":[…],"startsAt":…,"endsAt":…,"createdBy":…,"comment":…}');
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw bad('the body must be a JSON object');
  const o = v as Record<string, unknown>;
  if (!Array.isArray(o['matchers']) || o['matchers'].length === 0) throw bad('"matchers" must be a non-empty list');
  if (o['matchers'].length > MAX_SILENCE_MATCHERS) throw bad(`more than ${MAX_SILENCE_MATCHERS} matchers`);
  const matchers = (o['matchers'] as unknown[]).map((m, i): SilenceMatcher => {
    const r = (m ?? {}) as Record<string, unknown>;
    if (typeof r['name'] !== 'string' || r['name'] === '' || typeof r['value'] !== 'string' || typeof r['isRegex'] !== 'boolean') {
      throw bad(`matchers[${i}] needs a non-empty "name", a string "value" and a boolean "isRegex"`);
    }
    if (r['isEqual'] !== undefined && typeof r['isEqual'] !== 'boolean') throw bad(`matchers[${i}].isEqual must be a boolean`);
    return { name: r['name'], value: r['value'], isRegex: r['isRegex'], isEqual: r['isEqual'] !== false };
  });
  const str = (k: string): string => {
    const x = o[k];
    if (typeof x !== 'string') throw bad(`"${k}" must be a string`);
    return x;
  };
  const out: PostableSilence = { matchers, startsAt: str('startsAt'), endsAt: str('endsAt'), createdBy: str('createdBy'), comment: str('comment') };
  if (o['id'] !== undefined && o['id'] !== null && o['id'] !== '') {
    if (typeof o['id'] !== 'string') throw bad('"id" must be a string');
    out.id = checkSilenceId(o['id']);
  }
  return out;
}

/**
 * Makes a new or updated silence fit the caller's policy, or refuses it.
 *
 * - Unrestricted: unchanged.
 * - A policy of one matcher set whose matchers are all equalities (one tenant): each of its
 *   labels the silence does not mention is added (`tenant="a"`, so a single-team user need
 *   not type it).
 * - Then the silence must be visible to the caller ({@link silenceVisible}); a caller with
 *   several tenants must name them (`tenant=~"a|b"` or `tenant="a"`).
 *
 * @returns the silence to send
 * @throws HttpError `forbidden_tenant` (403), naming the first foreign tenant when a tenant
 *   matcher names one
 */
export function scopeSilence(silence: PostableSilence, policy: AccessPolicy, subject: string): PostableSilence {
  const sets = policy.selectors;
  if (sets === undefined) return silence;
  let out = silence;
  const only = sets.length === 1 ? sets[0] : undefined;
  if (only !== undefined && only.every((m) => m.op === '=')) {
    const missing = only.filter((m) => !silence.matchers.some((x) => x.name === m.name));
    if (missing.length > 0) out = { ...silence, matchers: [...silence.matchers, ...missing.map((m) => ({ name: m.name, value: m.value, isRegex: false, isEqual: true }))] };
  }
  if (silenceVisible(out, policy)) return out;
  const granted = describePolicy(policy);
  for (const m of silenceMatchers(out) ?? []) {
    if (m.name !== policy.label || (m.op !== '=' && m.op !== '=~')) continue;
    const values = m.op === '=' ? [m.value] : m.value.split('|');
    const foreign = values.find((v) => !silenceVisible({ matchers: [{ name: m.name, value: v, isRegex: false }] }, policy));
    if (foreign !== undefined && /^[0-9a-zA-Z!\-_.*'()]+$/.test(foreign)) {
      throw new HttpError('forbidden_tenant', `tenant ${JSON.stringify(foreign)} is not granted to subject ${JSON.stringify(subject)}: a silence may mute only your tenants' alerts (granted: ${granted})`);
    }
  }
  throw new HttpError('forbidden_tenant', `a silence must pin the label "${policy.label}" to tenants granted to subject ${JSON.stringify(subject)}: add the matcher ${policy.label}="<tenant>" or ${policy.label}=~"<tenant>|<tenant>" (every alternative granted; granted: ${granted})`);
}
