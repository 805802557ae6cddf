/** A configuration that cannot work: the CLI prints its message as one line and exits 1. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
