/**
 * promfence's version, read once from package.json (one level above both src/ and dist/).
 */
import { readFileSync } from 'node:fs';

/** The `version` of package.json, e.g. `0.1.0`; `unknown` when it cannot be read. */
export const VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
})();
