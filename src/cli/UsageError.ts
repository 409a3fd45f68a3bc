/** The command line itself is wrong: exit status 2 and the usage text. */
export class UsageError extends Error {
  override name = 'UsageError';
}
