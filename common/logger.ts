import pino from 'pino';

/**
 * Structured JSON logs. Fields are ids, counts and file names: never owner names, e-mails, phones
 * or credentials. The redaction list is a second line of defence for anything that slips through.
 */
export const logger = pino({
  name: 'imv-import',
  level: process.env.LOG_LEVEL ?? 'info',
  base: { pid: process.pid },
  redact: {
    paths: ['password', '*.password', 'contact', '*.contact', 'emails', '*.emails', 'phones', '*.phones', 'lastName', 'firstName', '*.lastName', '*.firstName'],
    censor: '[redacted]',
  },
  timestamp: pino.stdTimeFunctions.isoTime,
});

export type Logger = pino.Logger;
