/**
 * An invalid configuration: a bad value, a bad combination of keys, or an unknown topic config.
 * The message is one sentence naming the key, the value and what is allowed; the CLI prints it as is and
 * CreateTopics/AlterConfigs map it to INVALID_CONFIG with the message as the error message.
 */
export class ConfigError extends Error {
  constructor(
    message: string,
    readonly key?: string,
    readonly value?: string,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}
