/**
 * The one error type of configuration loading.
 */

/**
 * A configuration file is unreadable, not valid YAML, or fails validation. `message` holds
 * one line per problem, each starting with `config: ` and naming the key path, e.g.
 * `config: auth.bearer_tokens[2].token is empty`. Never contains a secret value.
 */
export class ConfigError extends Error {
  /** Stable code, for callers that switch on it. */
  readonly code = 'config_error' as const;
  /** Each problem as its own `config: …` line (the lines of `message`). */
  readonly issues: readonly string[];
  /**
   * @param issues one or more `config: …` lines
   * @param options.cause the underlying error (fs error, YAML error), if any
   */
  constructor(issues: readonly string[], options?: { cause?: unknown }) {
    super(issues.join('\n'), options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ConfigError';
    this.issues = Object.freeze([...issues]);
  }
}
