/** Configuration: types, schema, loading, summary. */
export type { Config, BearerTokenEntry, BasicUserEntry } from './types.ts';
export { loadConfig, parseConfig, MAX_CONFIG_BYTES } from './load.ts';
export { ConfigError } from './errors.ts';
export { summarizeConfig, configWarnings } from './summary.ts';
export { createConfigSchema, DEFAULTS, formatIssues, formatPath } from './schema.ts';
export { splitHostPort, parseDurationMs, formatDurationMs } from './values.ts';
